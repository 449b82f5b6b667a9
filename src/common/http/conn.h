/* conn.h — a client connection: the transport under the exchanges.
 *
 * A connection owns its socket (and its TLS, through tls_io), the bytes
 * read from the client and those queued for it, the readiness flags, the
 * peer's and the local address (from a PROXY header when the listener asks
 * for one), the accept-time handshake, the deadlines of its own states,
 * keep-alive counting, lingering and closing, and its place in the
 * worker's list.  It does not own exchanges: the protocol it speaks (h1.c,
 * or h2.c once ALPN or the HTTP/2 preface says so) reads requests from it,
 * starts exchanges (exchange_int.h), carries each exchange's client side,
 * and is told when one ends.
 *
 * A connection lives on one worker and is driven by conn_drive(), from the
 * events of its socket and of its timer, and when an exchange it carries
 * ends.  Its states:
 *
 *   state     waits for                       deadline                  next
 *   C_ACCEPT  the PROXY header, then the      accept_ms from accept     C_IDLE, C_CLOSED
 *             TLS handshake
 *   C_IDLE    a request: idle between         keepalive after an        C_BUSY, C_CLOSED
 *             exchanges, or part of a head    exchange (client_header
 *             read                            before the first); with
 *                                             a head begun,
 *                                             client_header from its
 *                                             first byte
 *   C_BUSY    its exchange(s) to end          the exchanges' own, and   C_IDLE, C_LINGER,
 *             (HTTP/2: all its life)          the protocol's (HTTP/2:   C_CLOSED
 *                                             proto.deadline)
 *   C_LINGER  answered, ending: TLS           LINGER_MS after the       C_CLOSED
 *             close_notify, then (with        last byte
 *             unread input) a half-close and
 *             input read and dropped, so no
 *             RST destroys the answer
 *   C_CLOSED  nothing: closed, freed after    -                         -
 *             this loop iteration
 */
#ifndef GH_CONN_H
#define GH_CONN_H

#include "buf.h"
#include "loop.h"

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

struct conn;
struct exchange;
struct upconn;
struct worker;

enum conn_state { C_ACCEPT, C_IDLE, C_BUSY, C_LINGER, C_CLOSED };

/* The client's end as a raw byte stream, for a tunnel: pointers into the
 * protocol's own state (HTTP/1: the connection's socket, its buffer of
 * bytes read ahead, its readiness and end flags). */
struct client_raw {
    int fd;
    struct buf **in;
    uint8_t *readable, *writable, *eof;
};

/* A protocol spoken on a client connection (h1.c, h2.c).  The connection
 * calls the hooks up to `drain`; the exchange driver calls the rest, for
 * the client side of one exchange (exchange_int.h wraps them as
 * client_*()), so that a protocol carrying many exchanges gives each its
 * own.  They return GH_OK, GH_AGAIN, GH_DONE or GH_ERROR (util.h) as each
 * contract says, and never drive the exchange.  The optional hooks are
 * NULL in HTTP/1. */
struct proto {
    const char *name;    /* as ALPN names it ("http/1.1", "h2"), for the log */
    const char *version; /* the request line's version in the access log
                            (" HTTP/2.0"); NULL: the request head's own */
    /* Optional: the connection begins speaking it (conn_speak), after its
     * handshake; bytes read already wait in c->in. */
    void (*start)(struct conn *c);
    /* C_IDLE or C_BUSY: the client's socket is ready or bytes wait: read
     * requests, start exchanges, drive those that wait for the client. */
    void (*drive)(struct conn *c);
    /* Optional: the protocol's own deadline (loop ms, UINT64_MAX none) in
     * C_IDLE and C_BUSY, in place of the connection's (keep-alive, head). */
    uint64_t (*deadline)(const struct conn *c);
    /* C_IDLE's deadline passed with part of a request read; or, with
     * `deadline`, the protocol's deadline passed. */
    void (*expired)(struct conn *c);
    /* The connection closes (C_CLOSED already): every exchange it carries
     * ends now; `why` (may be NULL) is logged as their reason. */
    void (*abort)(struct conn *c, const char *why);
    /* Optional: the worker drains (SIGTERM) or reloads: the client is told
     * to go elsewhere for new requests (HTTP/2: GOAWAY), what is in flight
     * finishes, then the connection closes.  Without it, an idle
     * connection closes at once and a busy one after its exchange. */
    void (*drain)(struct conn *c);
    /* Writes what is queued for the exchange's client (its *cout): GH_OK
     * when all went, GH_AGAIN, GH_ERROR (exchange_fail: the connection
     * closes). */
    int (*flush)(struct exchange *ex);
    /* Moves the request body (ex->reqb) to fd, or discards it with fd -1:
     * GH_DONE when it is whole, GH_OK after progress, GH_AGAIN when nothing
     * moved, GH_ERROR with ex->reqb.error. */
    int (*recv_body)(struct exchange *ex, int fd, uint8_t *writable);
    /* Relays the response body (ex->respb, after the head queued as its
     * prefix) from upstream u: the same returns, GH_ERROR with
     * ex->respb.error. */
    int (*send_body)(struct exchange *ex, struct upconn *u);
    /* Writes a local answer: its head and body queued, then the rest of an
     * in-memory or file body (ex->local_*): GH_OK when all went, GH_AGAIN,
     * GH_ERROR (exchange_fail). */
    int (*send_local)(struct exchange *ex);
    /* Whether the client ended its side: no more request bytes come. */
    int (*client_ended)(const struct exchange *ex);
    /* Hands the client's end over as a raw byte stream for a tunnel
     * (CONNECT, 101), filling *r: GH_OK (HTTP/1: the connection's socket,
     * which carries nothing else from then on), or GH_ERROR when the
     * protocol has none to give (HTTP/2 multiplexes: a tunnel there is a
     * stream of its own). */
    int (*raw)(struct exchange *ex, struct client_raw *r);
    /* The exchange is over (ex->end says how; it was logged): the
     * protocol gives it back and goes on with the connection. */
    void (*ended)(struct exchange *ex);
};

/* A client connection.  Owned by its worker's list; freed after the loop
 * iteration in which it closes. */
struct conn {
    struct ioh io;
    struct worker *w;
    struct conn *prev, *next;           /* the worker's list */
    const struct proto *proto;          /* the protocol it speaks */
    void *proto_state;                  /* the protocol's own (h1.c: the exchange under
                                           way, or the one reading its head) */
    char lname[64];                     /* listener name, followed across reloads */
    struct sockaddr_storage peer;
    char peer_text[INET6_ADDRSTRLEN];
    struct buf *in;                     /* bytes from the client */
    struct buf *out;                    /* heads and local answers to the client */
    uint8_t readable, writable, peer_eof; /* edge-triggered readiness, remembered */
    enum conn_state state;
    struct timer timer;
    uint64_t head_start;                /* first byte of the current head (set by
                                           the protocol) */
    uint64_t last_io;                   /* C_IDLE: since when; C_LINGER: last byte */
    uint32_t nexchanges;                /* exchanges ended with keep-alive */
    uint8_t await_proxy;                /* a PROXY header must come first */
    uint8_t tls;                        /* the client speaks TLS (handshake done after C_ACCEPT) */
    uint8_t notify;                     /* C_LINGER: close_notify still to send */
    uint8_t discard;                    /* C_LINGER: 1 half-close, then read away; 2 read away */
    uint8_t driving, redrive;           /* conn_drive() is running; run it again */
    uint32_t accept_ms;                 /* C_ACCEPT may last this long */
    uint8_t has_local;                  /* `local` is known */
    uint8_t intercepted;                /* a transparent listener's, redirected to it:
                                           orig_dst is where the client meant to go */
    struct sockaddr_storage orig_dst;
    struct sockaddr_storage local;      /* the address the client connected to */
    uint8_t counted;                    /* admitted by the listener's connection limits */
    uint64_t count_key;                 /* under this key (connlimit.h), released at close */
    char *auth_user;                    /* a connection-based login (Negotiate): the user it
                                           authenticated, for its later requests; NULL none */
};

/* Takes an accepted, non-blocking client socket on worker w, for listener
 * `lname` (its PROXY header and TLS settings apply).  Returns the
 * connection, or NULL when it could not be taken (the socket is closed). */
struct conn *conn_new(struct worker *w, int fd, const struct sockaddr_storage *peer,
                      const char *lname);

/* The connection was admitted by its listener's connection limits under
 * key (connlimit.h): it is released when the connection closes. */
void conn_counted(struct conn *c, uint64_t key);

/* Advances the connection as far as it can without blocking.  Called
 * again from inside (an exchange ending under it), it runs once more
 * after the current pass instead of nesting. */
void conn_drive(struct conn *c);

/* Closes the connection now: its exchanges end (proto.abort, logged with
 * `why`, may be NULL), the socket closes; the memory goes after this loop
 * iteration.  Does nothing to a closed connection. */
void conn_close(struct conn *c, const char *why);

/* ---- for the protocol: its exchanges' comings and goings ---- */

/* An exchange begins: C_BUSY. */
void conn_busy(struct conn *c);
/* The last exchange ended and the connection is kept: C_IDLE, counting
 * one more exchange, and drives on (a pipelined request may wait). */
void conn_idle(struct conn *c);
/* Ends the connection without losing its answer to a reset: C_LINGER.
 * `notify`: TLS close_notify first; `discard`: then half-close and read
 * what the client still sends until it closes or LINGER_MS pass. */
void conn_linger(struct conn *c, int notify, int discard);
/* Ends a refused connection at once: close_notify (best effort) and the
 * half-close now, then C_LINGER reading the client's rest away. */
void conn_shut(struct conn *c);
/* Re-arms the timer for the current state's deadline (after head_start
 * moved, or the protocol's deadline did). */
void conn_arm(struct conn *c);
/* The connection speaks protocol p from now on (HTTP/2 after ALPN or the
 * preface): p.start runs, and p.drive once the current pass is over. */
void conn_speak(struct conn *c, const struct proto *p);

/* The address the client connected to (the PROXY header's, else the
 * socket's), or NULL when it cannot be had. */
const struct sockaddr_storage *conn_local(struct conn *c);

/* Closes idle connections now and the others once their exchange ends
 * (drain; a protocol with its own proto.drain drains its way); with
 * `now`, closes everything. */
void conn_drain_all(struct worker *w, int now);
/* A reload: connections whose protocol multiplexes (HTTP/2) drain, so
 * that their clients come back on new connections (proto.drain). */
void conn_reload_all(struct worker *w);

#endif

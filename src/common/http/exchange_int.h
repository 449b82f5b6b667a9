/* exchange_int.h — the exchange as the core sees it: its whole struct, its
 * states, and the functions the core alone calls on it.  Front-ends see
 * only exchange.h; this header is for src/common, never for a mode.
 *
 * An exchange is one request and its response: the front-end's decision,
 * the edits to the heads, the upstream, the body state, the cache transfer
 * and the log fields.  It has a life of its own: taken (exchange_get) and
 * given back (exchange_put) by the protocol of the client connection that
 * carries it (conn.h, h1.c), which may carry one at a time (HTTP/1) or
 * many (HTTP/2); its state, deadline and timer are its own; and one
 * function, exchange_drive(), moves it from state to state.  The pieces it
 * calls for each state's work (connect.c, proxy.c, tunnel.c, the
 * protocol's client side) return GH_OK / GH_AGAIN / GH_DONE / GH_ERROR
 * (util.h), record a failure with exchange_fail(), and never set a state
 * or call the driver. */
#ifndef GH_EXCHANGE_INT_H
#define GH_EXCHANGE_INT_H

#include "body.h"
#include "buf.h"
#include "config.h"
#include "conn.h"
#include "exchange.h"
#include "http1.h"
#include "loop.h"
#include "pnote.h"
#include "resolver.h"
#include "sni.h"
#include "upstream.h"
#include "util.h"

#include <netinet/in.h>

struct cache_xfer;

/* The states of an exchange, each described here and nowhere else: what it
 * waits for, its deadline (ex->last_io is its last byte moved, either
 * side, reset when the state changes), and where it may go.  Transient
 * states never wait: the driver passes through them in the same call.  A
 * failure on the way to an upstream may go back to X_UPSTREAM (another
 * address, a fresh connection, another server) or to X_LOCAL (the error
 * answered); any state may end in X_DONE when the connection must close.
 *
 * X_NONE       taken, not begun: its protocol reads its request head.
 *              Next: X_DECIDE, or X_LOCAL (a request the protocol refused).
 * X_DECIDE     transient: the core's rules, then the front-end, decide.
 *              Next: X_HELD, X_QUEUED, X_LOCAL, X_UPSTREAM, X_DONE (a
 *              deny rule closes the connection unanswered: exchange_drop).
 * X_HELD       waits, decided, for its turn under a rate limit's delay
 *              (exchange_hold), the head still in the buffer.  Deadline:
 *              hold_until, then on as X_DECIDE would go.  Next: X_QUEUED,
 *              X_LOCAL, X_UPSTREAM.
 * X_QUEUED     waits for a server to free up: the queue is tried again when
 *              an exchange of the worker ends and every QUEUE_POLL_MS.
 *              Deadline: queue_until (then 503).  Next: X_LOCAL, X_UPSTREAM.
 * X_UPSTREAM   transient: reaches for the upstream: a pooled connection, or
 *              the next address, or DNS first.  Next: X_CONNECTED, X_CONNECT,
 *              X_RESOLVE, X_LOCAL.
 * X_RESOLVE    waits for DNS.  Deadline: timeouts.upstream_connect (then
 *              504).  Next: X_UPSTREAM, X_LOCAL.
 * X_CONNECT    waits for the upstream connect to finish.  Deadline:
 *              upstream_connect.  Next: X_CONNECTED, X_UPSTREAM, X_LOCAL.
 * X_CONNECTED  transient: a connection is up: the PROXY header (a pool's
 *              setting) goes out.  Next: X_UP_TLS, X_PARENT_CONNECT,
 *              X_TUNNEL, X_PROXY, X_UPSTREAM, X_LOCAL.
 * X_UP_TLS     waits for the TLS handshake with the upstream.  Deadline:
 *              upstream_connect, counted on from X_CONNECT's (the connect
 *              and the handshake share it).  Next: X_PARENT_CONNECT,
 *              X_TUNNEL, X_PROXY, X_UPSTREAM, X_LOCAL.
 * X_PARENT_CONNECT  waits while our CONNECT goes to a parent proxy and its
 *              answer comes.  Deadline: as X_PROXY.  Next: X_TUNNEL (a 2xx),
 *              X_LOCAL (502).
 * X_PROXY      waits while the request goes up and the response comes back,
 *              both streaming.  Deadline: upstream_read (the longer of it
 *              and client_body while the request body comes), then 504
 *              before a response head, a close after.  Next: X_DONE,
 *              X_LOCAL (our own answer instead), X_TUNNEL (101),
 *              X_UPSTREAM (retried).
 * X_TUNNEL     waits while bytes go both ways (CONNECT, 101) until both
 *              ends are shut; a CONNECT whose first bytes the front-end
 *              judges first waits for them.  Deadline: timeouts.tunnel
 *              idle; the first bytes' wait client_header.  Next: X_DONE.
 * X_LOCAL      waits for the client to take our own answer (an error page,
 *              a file, a cache hit), or for a held-back answer's time
 *              (answer_at).  Deadline: timeouts.send.  Next: X_DONE.
 * X_DONE       final: ended and logged; its protocol takes it back.
 */
enum exchange_state {
    X_NONE,
    X_DECIDE,
    X_HELD,
    X_QUEUED,
    X_UPSTREAM,
    X_RESOLVE,
    X_CONNECT,
    X_CONNECTED,
    X_UP_TLS,
    X_PARENT_CONNECT,
    X_PROXY,
    X_TUNNEL,
    X_LOCAL,
    X_DONE,
};

/* How an exchange ended (X_DONE), for its protocol. */
enum exchange_end {
    END_DONE,  /* answered: the connection may carry another exchange */
    END_CLOSE, /* the client connection must close */
    END_SHUT,  /* refused (a tunnel): shut the connection, read the rest away */
};

/* What a step that returned GH_ERROR calls for (exchange_fail). */
struct exchange_fail {
    const char *why;    /* static: on the error page and in the log */
    const char *detail; /* shown on the page after why (NULL none) */
    uint16_t status;    /* the answer it calls for (400, 413, 502, 504...);
                             0: none, the client connection closes */
    uint8_t retry;      /* RETRY_*: what the driver may try before answering */
    uint8_t sent;       /* the request head had gone out (frontend.upstream_failed) */
};
#define RETRY_ADDR 1  /* the next address of the same name */
#define RETRY_FRESH 2 /* the same server on a new connection: a pooled one died unused */
#define RETRY_OTHER 4 /* another server, if the front-end names one */

enum exchange_decision { DECIDE_NONE, DECIDE_LOCAL, DECIDE_FORWARD, DECIDE_TUNNEL, DECIDE_QUEUE };

#define EXCHANGE_MAX_EDITS 64

struct field_edit {
    uint8_t add;       /* 0: remove the name; 1: add name: value */
    uint8_t response;  /* applies to the response sent to the client */
    uint32_t name_off, name_len, value_off, value_len; /* in the arena */
};

/* One request and its response.  Taken and given back by the protocol of
 * its connection; reset when given back (the arena is kept and reused). */
struct exchange {
    /* its life, the driver's */
    struct conn *conn;                  /* the client connection carrying it */
    enum exchange_state state;          /* exchange_drive() alone sets it */
    enum exchange_end end;              /* X_DONE: how it ended */
    struct timer timer;                 /* its state's deadline */
    uint64_t last_io;                   /* last byte moved, either side (loop ms) */
    struct exchange *qprev, *qnext;     /* the worker's queue (X_QUEUED); qnext also
                                           links this thread's spares */
    struct buf **cin, **cout;           /* the client side's buffers, its protocol's
                                           (HTTP/1: the connection's; HTTP/2: its
                                           stream's): the request head and body in,
                                           heads and local answers out, heads
                                           always in HTTP/1 form */
    void *client_stream;                /* the protocol's own state for this
                                           exchange (HTTP/2: its stream), NULL for
                                           HTTP/1 */
    uint8_t driving, redrive;           /* exchange_drive() is running; run it again */
    uint8_t rearm;                      /* the deadline moved: arm the timer again */
    uint8_t expired;                    /* the timer found the deadline passed */
    uint8_t queue_ready;                /* X_QUEUED: the queue says try again */
    uint8_t queued;                     /* in the worker's queue */
    uint8_t aborted;                    /* its connection closes under it */
    uint8_t refused;                    /* a tunnel the front-end refused */
    uint8_t unanswered;                 /* close the client unanswered (exchange_drop) */
    struct exchange_fail fail;          /* why the last step failed */
    const char *dns_error;              /* X_RESOLVE: why DNS gave no address */
    struct gh_config *cfg;              /* generation this exchange runs on */
    const struct listener_conf *lst;
    struct http_head req;
    struct http_head resp;
    uint64_t start_ms;
    int status;
    uint64_t bytes_in, bytes_out;       /* raw bytes from / to the client */
    uint64_t resp_body_bytes;
    uint64_t max_body;                  /* request body limit, 0 none (route may lower it) */
    const char *why;                    /* why it ended abnormally (access log) */
    enum exchange_decision decision;
    /* copies for the access log: the request head does not outlive the
     * head-serialising step */
    char log_req[600];
    char user[64];                      /* authenticated user, for the log */
    char filter[96];                    /* the filter's decision, for the log */
    uint64_t answer_at;                 /* a local answer waits until then (loop ms) */
    uint64_t queue_until;               /* a queued exchange gives up then (loop ms) */
    uint64_t hold_until;                /* X_HELD: acts on its decision then (loop ms) */
    struct protect_note pnote;          /* what the protections remember (protect.c) */
    const struct exchange_meter *meter; /* counts its bytes (meter.c), NULL: none */
    void *meter_arg;
    struct timer meter_timer;           /* a metered direction waits for its allowance */
    uint64_t scratch[EXCHANGE_SCRATCH / 8]; /* the front-end's notes */
    char log_referer[200];
    char log_agent[200];
    /* edits for the upstream head */
    char *arena;
    uint32_t arena_len, arena_cap;
    struct field_edit edits[EXCHANGE_MAX_EDITS];
    unsigned nedits;
    int32_t target_off, target_len;     /* replacement target in the arena, -1 none */
    int (*drop)(const char *name, size_t len); /* request fields left out, NULL none */
    /* upstream */
    char host[256];
    uint16_t port;
    char label[128];
    char key[UPSTREAM_KEY_MAX];
    struct resolve_req *rq;
    struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS];
    unsigned naddrs, addr_next;
    struct upconn *up;
    char up_addr[64];                   /* address of the upstream used, for the log */
    char log_type[48];                  /* the answer's media type, for the squid log */
    struct buf *uphead;                 /* the request head for the upstream, kept
                                           until answered so a retry can resend it */
    uint32_t uphead_sent;
    unsigned up_reused : 1, retried : 1, req_is_head : 1;
    unsigned upgrade : 1;               /* asked the upstream to switch protocols */
    unsigned te_trailers : 1;           /* the client takes trailers (HTTP/2's "te:
                                           trailers"): the upstream request says so */
    unsigned parent_tunnel : 1;         /* a tunnel through a parent proxy: our CONNECT
                                           to it first (X_PARENT_CONNECT) */
    unsigned omit_via : 1;              /* anonymity: no Via upstream */
    unsigned to_proxy : 1;              /* the upstream is a parent proxy: send the loop mark */
    unsigned peer_hop : 1;              /* the upstream is a peer of the fleet
                                           (exchange_forward_peer): its target and mark */
    unsigned has_src : 1;               /* connect from up_src (a peer hop) */
    int32_t peer_target_off, peer_target_len, peer_mark_off, peer_mark_len; /* in the arena */
    struct buf *fallhead;               /* a peer hop's head as any other upstream gets it */
    struct sockaddr_storage up_src;     /* the source address of a peer hop */
    unsigned inspect_hello : 1;         /* tunnel: its first bytes wait for the front-end's
                                           judgement (frontend.tunnel_hello) */
    unsigned intercept_tls : 1;         /* a transparent listener's TLS connection: no
                                           request, its ClientHello (hello) instead */
    unsigned pinned : 1, pin_ok : 1;    /* connect to pin alone, once the host's
                                           addresses are seen to include it */
    struct sockaddr_storage pin;        /* the intercepted client's original destination */
    uint8_t proxy_header;               /* PROXY protocol version to send upstream, 0 none */
    struct tls_client *up_tls;          /* speak TLS to the upstream, NULL: plain */
    uint16_t up_h2_streams;             /* speak HTTP/2 to the upstream (h2_link.h): streams
                                           per connection; 0: HTTP/1.1 */
    uint8_t up_h2_conns;                /* ... over at most this many connections a server */
    uint8_t up_greeted;                 /* this connection's PROXY header went out */
    uint8_t up_shut, down_shut;         /* tunnel: write side shut towards upstream / client */
    int tpipe[2][2];                    /* tunnel: a pipe per direction for splice(2), -1 none */
    uint32_t tpiped[2];                 /* bytes waiting in each pipe */
    uint32_t tpipe_cap[2];              /* each pipe's capacity */
    char connect_host[256];             /* tunnel: the host a CONNECT named, as written
                                           ("" for none; the head is gone by then) */
    uint16_t connect_port;
    struct client_raw craw;             /* tunnel: the client's end (proto.raw) */
    struct sni_hello hello;             /* tunnel: its ClientHello, as read so far */
    uint64_t hello_until;               /* tunnel: when the wait for it ends (loop ms) */
    unsigned req_head_sent : 1, req_done : 1;
    unsigned sent_100 : 1;              /* the client got a 100 Continue (ours or relayed) */
    unsigned resp_head_done : 1, resp_done : 1, client_close : 1;
    struct body reqb;
    struct body respb;
    /* Trailer field lines ("Name: value\r\n" each), whatever protocol
     * carried them, NULL for none: the request's, from its client, go to a
     * chunked upstream request's last chunk (reqb.trailers_out); the
     * response's, from a chunked upstream answer (respb.trailers_in), go
     * to a client whose protocol carries them (HTTP/2). */
    struct buf *req_trailers, *resp_trailers;
    /* local answer: head and small bodies go to the client's out buffer */
    char *local_mem;                    /* rest of a large in-memory body */
    size_t local_mem_len, local_mem_off;
    int local_fd;                       /* file body, -1 none */
    uint64_t local_left;
    unsigned local_borrowed : 1;        /* local_mem is not ours (a cached object's) */
    /* cache: this exchange's lookup, fill or revalidation (cache_xfer.c) */
    struct cache_xfer *cx;
    const char *resp_base;              /* the response head's buffer when it is not
                                           the upstream's (a cached head) */
    /* compression (exchange_compress.c): the route's settings (NULL: off),
     * the coding the client's Accept-Encoding chose, the coding of this
     * response's body, and whether it varies on Accept-Encoding */
    const struct compress_conf *zconf;
    uint8_t zwant, zalg, zvary;
    uint8_t zgzip_ok;                   /* the client takes gzip */
    uint8_t zdecode;                    /* an upstream gzip body is decoded for the client */
};

/* ---- taking and giving back (exchange.c) ---- */

/* A cleared exchange for connection c, from this thread's spares when it
 * has one.  The protocol sets ex->cin and ex->cout. */
struct exchange *exchange_get(struct conn *c);
/* Gives an exchange back (NULL is ignored): resets it, keeps it as a spare
 * or frees it.  Not while X_QUEUED, or with its timer or upstream. */
void exchange_put(struct exchange *ex);
/* Frees this thread's spare exchanges (a worker thread ending). */
void exchange_trim(void);

/* ---- the driver (exchange_drive.c) ---- */

/* Begins an exchange in X_NONE: one whose request head is in ex->req, or
 * one its protocol has answered already (a local answer set: a request it
 * could not read), and drives it as far as it goes. */
void exchange_start(struct exchange *ex);
/* Advances the exchange as far as it can without blocking: the only
 * function that changes an exchange's state.  Called again from inside (a
 * callback the exchange itself caused), it runs once more after the
 * current pass instead of nesting.  When it returns, the exchange may have
 * ended and been given back: callers do not touch it afterwards. */
void exchange_drive(struct exchange *ex);
/* The client connection closes under a begun exchange: it ends now
 * (logged with `why`, may be NULL) and its protocol takes it back. */
void exchange_abort(struct exchange *ex, const char *why);
/* The events of the exchange's upstream connection and of its DNS lookup
 * (connect.c hands these to upstream_own and resolver_lookup): they record
 * what happened and drive the exchange. */
void exchange_on_upstream(void *owner, struct upconn *u, uint32_t events);
void exchange_on_resolved(void *arg, const struct sockaddr_storage *addrs, unsigned n,
                          const char *error);

/* Records why a step fails and returns GH_ERROR, for the step to return:
 * `status` is the answer it calls for, 0 when the client connection must
 * close instead. */
static inline int exchange_fail(struct exchange *ex, int status, const char *why)
{
    ex->fail = (struct exchange_fail){.why = why, .status = (uint16_t)status};
    return GH_ERROR;
}

/* The same for an upstream that failed before answering: the driver tries
 * what `retry` (RETRY_*) allows before answering `status`; `sent` says
 * whether the request head had gone out. */
static inline int exchange_fail_upstream(struct exchange *ex, int status, const char *why,
                                         int retry, int sent)
{
    ex->fail = (struct exchange_fail){
        .why = why, .status = (uint16_t)status, .retry = (uint8_t)retry, .sent = (uint8_t)sent};
    return GH_ERROR;
}

/* ---- the client side, through the connection's protocol (conn.h) ---- */

/* The buffer that heads and local answers for the client are written into
 * (in HTTP/1 form), taken when there is none. */
static inline struct buf *client_out(struct exchange *ex)
{
    if (!*ex->cout)
        *ex->cout = buf_get();
    return *ex->cout;
}
/* Whether bytes wait to go to the client. */
static inline int client_pending(const struct exchange *ex)
{
    return *ex->cout && buf_len(*ex->cout);
}
static inline int client_flush(struct exchange *ex)
{
    return ex->conn->proto->flush(ex);
}
static inline int client_recv_body(struct exchange *ex, int fd, uint8_t *writable)
{
    return ex->conn->proto->recv_body(ex, fd, writable);
}
static inline int client_send_body(struct exchange *ex, struct upconn *u)
{
    return ex->conn->proto->send_body(ex, u);
}
static inline int client_send_local(struct exchange *ex)
{
    return ex->conn->proto->send_local(ex);
}
static inline int client_ended(const struct exchange *ex)
{
    return ex->conn->proto->client_ended(ex);
}
static inline int client_raw(struct exchange *ex, struct client_raw *r)
{
    return ex->conn->proto->raw(ex, r);
}

/* ---- heads and the log (exchange.c) ---- */

void exchange_reset(struct exchange *ex);
/* Writes the request head for the upstream into out; returns 0 or -1.
 * Must run while the request head is still in the client's buffer. */
int exchange_write_request_head(struct exchange *ex, struct buf *out);
/* Writes the response head for the client into out; returns 0 or -1.
 * Decides the client framing (sets respb) and whether to close. */
int exchange_write_response_head(struct exchange *ex, struct buf *out, int client_close);

/* The upstream's final head is in: decides ex->zalg and ex->zvary from the
 * response's rules (exchange_compress.c).  Only for a relayed body. */
void exchange_compress_response(struct exchange *ex);
/* The cache's stored head (head, *len bytes, malloc'd: taken) rewritten
 * for the body as this exchange sends it: the coding, Vary, a weak ETag,
 * no Content-Length (the store adds the stored body's).  Returns the new
 * head, its length in *len. */
char *exchange_compress_stored_head(const struct exchange *ex, char *head, size_t *len);
/* Writes an interim (1xx) response head for the client from the one still
 * in the upstream buffer: hop-by-hop fields dropped, the response's field
 * removals applied (not its additions), Via added.  Returns 0 or -1 (out
 * too small). */
int exchange_write_interim_head(struct exchange *ex, struct buf *out);
/* Writes the 101 head for the client from the response head still in the
 * upstream buffer, with Upgrade and Connection restored. */
int exchange_write_switch_head(struct exchange *ex, struct buf *out);
/* The core's own rules before any front-end: a request carrying our loop
 * mark answered 508 (hop.h), TRACE refused unless allowed, Max-Forwards on
 * OPTIONS and TRACE answered at 0 and decremented otherwise.
 * Returns 1 when it answered the exchange. */
int exchange_preflight(struct exchange *ex);
/* Records the request line and the log's fields while the head is intact. */
void exchange_note_request(struct exchange *ex);
/* Copies len bytes of src into dst (cap, NUL-terminated) for the log:
 * control bytes, quotes and backslashes become '_' so a line cannot be
 * forged. */
void exchange_log_copy(char *dst, size_t cap, const char *src, size_t len);
/* Writes the access-log line of a finished exchange. */
void exchange_log(struct exchange *ex);
/* The exchange is over: tells the front-end (frontend.finished), then logs. */
void exchange_end(struct exchange *ex);
/* Frees what an exchange allocated (when it is freed). */
void exchange_free(struct exchange *ex);

#endif

/* exchange_int.h — the exchange as the core sees it: its whole struct and
 * the functions the core alone calls (taking and giving back exchanges,
 * writing heads, the access log).  Front-ends see only exchange.h; this
 * header is for src/common (session.c, proxy.c, connect.c, tunnel.c, the
 * cache), never for a mode.
 *
 * An exchange is one request and its response: the front-end's decision,
 * the edits to the heads, the upstream, the body state, the cache transfer
 * and the log fields. */
#ifndef GH_EXCHANGE_INT_H
#define GH_EXCHANGE_INT_H

#include "body.h"
#include "buf.h"
#include "config.h"
#include "exchange.h"
#include "http1.h"
#include "resolver.h"
#include "sni.h"
#include "upstream.h"

#include <netinet/in.h>

struct session;
struct cache_xfer;

enum exchange_decision { DECIDE_NONE, DECIDE_LOCAL, DECIDE_FORWARD, DECIDE_TUNNEL, DECIDE_QUEUE };

#define EXCHANGE_MAX_EDITS 64

struct field_edit {
    uint8_t add;       /* 0: remove the name; 1: add name: value */
    uint8_t response;  /* applies to the response sent to the client */
    uint32_t name_off, name_len, value_off, value_len; /* in the arena */
};

/* One request and its response.  Embedded in its session; reset between
 * exchanges (the arena and edit table are kept and reused). */
struct exchange {
    struct session *s;
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
    struct buf *uphead;                 /* the request head for the upstream, kept
                                           until answered so a retry can resend it */
    uint32_t uphead_sent;
    unsigned up_reused : 1, retried : 1, req_is_head : 1;
    unsigned upgrade : 1;               /* asked the upstream to switch protocols */
    unsigned handshake : 1;             /* tunnel through a parent: its CONNECT answer first */
    unsigned omit_via : 1;              /* anonymity: no Via upstream */
    unsigned to_proxy : 1;              /* the upstream is a parent proxy: send the loop mark */
    unsigned inspect_hello : 1;         /* tunnel: its first bytes wait for the front-end's
                                           judgement (frontend.tunnel_hello) */
    uint8_t proxy_header;               /* PROXY protocol version to send upstream, 0 none */
    struct tls_client *up_tls;          /* speak TLS to the upstream, NULL: plain */
    uint8_t up_greeted;                 /* this connection's PROXY header went out */
    uint8_t up_handshaking;             /* TLS handshake with the upstream under way */
    uint8_t up_shut, down_shut;         /* tunnel: write side shut towards upstream / client */
    int tpipe[2][2];                    /* tunnel: a pipe per direction for splice(2), -1 none */
    uint32_t tpiped[2];                 /* bytes waiting in each pipe */
    uint32_t tpipe_cap[2];              /* each pipe's capacity */
    char connect_host[256];             /* tunnel: the host a CONNECT named, as written
                                           ("" for none; the head is gone by then) */
    uint16_t connect_port;
    struct sni_hello hello;             /* tunnel: its ClientHello, as read so far */
    uint64_t hello_until;               /* tunnel: when the wait for it ends (loop ms) */
    unsigned req_head_sent : 1, req_done : 1;
    unsigned sent_100 : 1;              /* the client got a 100 Continue (ours or relayed) */
    unsigned resp_head_done : 1, resp_done : 1, client_close : 1;
    struct body reqb;
    struct body respb;
    /* local answer: head and small bodies go to the session's out buffer */
    char *local_mem;                    /* rest of a large in-memory body */
    size_t local_mem_len, local_mem_off;
    int local_fd;                       /* file body, -1 none */
    uint64_t local_left;
    unsigned local_borrowed : 1;        /* local_mem is not ours (a cached object's) */
    /* cache: this exchange's lookup, fill or revalidation (cache_xfer.c) */
    struct cache_xfer *cx;
    const char *resp_base;              /* the response head's buffer when it is not
                                           the upstream's (a cached head) */
};

/* A cleared exchange for session s, from this thread's spares when it has
 * one; exchange_put() resets it and gives it back (or frees it). */
struct exchange *exchange_get(struct session *s);
void exchange_put(struct exchange *ex);
/* Frees this thread's spare exchanges (a worker thread ending). */
void exchange_trim(void);


void exchange_reset(struct exchange *ex);
/* Writes the request head for the upstream into out; returns 0 or -1.
 * Must run while the request head is still in the session's buffer. */
int exchange_write_request_head(struct exchange *ex, struct buf *out);
/* Writes the response head for the client into out; returns 0 or -1.
 * Decides the client framing (sets respb) and whether to close. */
int exchange_write_response_head(struct exchange *ex, struct buf *out, int client_close);
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
/* Writes the access-log line of a finished exchange. */
void exchange_log(struct exchange *ex);
/* The exchange is over: tells the front-end (frontend.finished), then logs. */
void exchange_end(struct exchange *ex);
/* Frees what an exchange allocated (at session end). */
void exchange_free(struct exchange *ex);

#endif

/* h2_upstream.h — HTTP/2 towards an upstream: one client session on
 * libnghttp2 (framing, HPACK, the stream state machine and flow control
 * are its) per upstream connection, with many request streams over it.
 *
 * Each stream is written and read in HTTP/1.1, so that the exchange on
 * the other side keeps the code it has for HTTP/1 upstreams: the request
 * head and body an exchange writes (the head as exchange_write_request_head
 * makes it, the body framed by Content-Length or chunked) become HEADERS
 * and DATA (a chunked body's trailers as the last HEADERS); the response's HEADERS, DATA and trailers are read back as an
 * HTTP/1.1 response: interim heads, the final head, the body (chunked,
 * with the trailers in its last chunk, unless the upstream sent a
 * Content-Length), so grpc-status travels in the trailers.
 *
 * It knows no socket.  Its owner feeds it the bytes read (h2up_recv),
 * takes the frames to write (h2up_send), and serves the streams it hands
 * out (h2up_next).  Memory, per open stream: the struct, a 16 KiB request
 * buffer (the head, then body bytes not sent yet), a 16 KiB response head
 * buffer and a 64 KiB response body buffer, which the stream's receive
 * window (64 KiB - 1) never lets overflow: the window opens only as the
 * owner reads the body out (h2up_stream_read).
 *
 * Failures, for the owner's retry accounting: a stream the server refused
 * (REFUSED_STREAM, or one past a GOAWAY's last stream id, which nghttp2
 * closes with that code) has done nothing and may be sent again anywhere
 * (`refused`); a stream reset otherwise, or a session that failed, ends
 * its exchange as an upstream that closed (`error_code`). */
#ifndef GH_H2_UPSTREAM_H
#define GH_H2_UPSTREAM_H

#include "buf.h"
#include "http1.h"

#include <stdint.h>

struct h2up;

/* One request stream.  Owned by its session; the owner reads the fields
 * marked so. */
struct h2up_stream {
    struct h2up *s;
    void *user;               /* owner: its exchange; NULL none */
    int32_t id;               /* 0 until the request head was submitted */
    struct buf *req;          /* request bytes not yet taken (the head, then the body) */
    struct buf *head;         /* response heads in HTTP/1.1 not read yet */
    struct buf *data;         /* response body bytes not read yet */
    struct buf *trailers;     /* response trailer lines ("name: value\r\n") */
    struct buf *req_trailers; /* a chunked request's trailer lines, sent after its DATA */
    struct http_chunked ck;   /* the request body's chunked decoder */
    uint64_t req_left;        /* a Content-Length request body: bytes to come */
    uint32_t error_code;      /* owner: closed, the code it closed with */
    int status;               /* owner: the final status, 0 until it came */
    unsigned req_framing : 2; /* HTTP_BODY_NONE, _LENGTH or _CHUNKED */
    unsigned req_end : 1;     /* the request body is all in `req` */
    unsigned req_sent : 1;    /* ... and went to nghttp2 (END_STREAM) */
    unsigned is_head : 1;     /* a HEAD request: no response body */
    unsigned chunked : 1;     /* the response body is read out chunked */
    unsigned final : 1;       /* the final head is in `head` */
    unsigned resp_end : 1;    /* END_STREAM came */
    unsigned last_out : 1;    /* the whole response was read out */
    unsigned closed : 1;      /* owner: nghttp2 closed the stream */
    unsigned refused : 1;     /* owner: closed before the server took it */
    unsigned deferred : 1, queued : 1, released : 1, in_trailers : 1;
    struct h2up_stream *prev, *next, *qnext;
};

/* A client session with its SETTINGS submitted: at most max_streams
 * streams at once (fewer if the server says so), `tls` for the :scheme,
 * `lim` for the heads' sizes. */
struct h2up *h2up_new(uint32_t max_streams, int tls, const struct http1_limits *lim);
/* Frees it and every stream left. */
void h2up_free(struct h2up *s);

/* Feeds n bytes read.  Returns GH_OK, or GH_ERROR: the session failed
 * (h2up_error says why; every stream is closed). */
int h2up_recv(struct h2up *s, const char *p, size_t n);
/* Appends the frames ready to out, as far as it has room.  GH_OK when
 * nothing more is ready, GH_AGAIN when out filled first, GH_ERROR. */
int h2up_send(struct h2up *s, struct buf *out);

/* Whether another stream may be opened now (below both sides' limits,
 * no GOAWAY, not failed). */
int h2up_can_open(const struct h2up *s);
/* Whether new streams may still go on it: no GOAWAY either way, no
 * failure (it may be full for now). */
int h2up_usable(const struct h2up *s);
/* Streams alive. */
unsigned h2up_nstreams(const struct h2up *s);
/* 0 once the session can carry nothing more (GOAWAY or a failure) and
 * no stream is left: the connection may close. */
int h2up_alive(const struct h2up *s);
/* Whether the server's SETTINGS came: it speaks HTTP/2 (until then the
 * owner counts the connection as being made). */
int h2up_greeted(const struct h2up *s);
/* Why it failed (static), NULL if it has not. */
const char *h2up_error(const struct h2up *s);
/* The connection under it ended (`why`, static): every stream closes
 * (INTERNAL_ERROR); whether one may be retried is the owner's rule for a
 * connection that died (did any byte of an answer come?). */
void h2up_fail(struct h2up *s, const char *why);

/* A new stream for `user`, or NULL (h2up_can_open is 0). */
struct h2up_stream *h2up_open(struct h2up *s, void *user);
/* The next stream needing its owner: response bytes came, request room
 * was made, or it closed.  A released closed stream is freed instead. */
struct h2up_stream *h2up_next(struct h2up *s);

/* Takes HTTP/1.1 request bytes p[0..n): the head (whole, or nothing of
 * it is taken) then the body.  Returns the bytes taken (0: no room, or
 * the head is not whole yet), or -1 with *why: a request HTTP/2 cannot
 * carry (the stream is reset). */
long h2up_stream_write(struct h2up_stream *st, const char *p, size_t n, const char **why);
/* Moves the response read so far, in HTTP/1.1, to dst as far as it has
 * room; the stream's window opens by the body bytes moved.  Returns the
 * bytes moved. */
size_t h2up_stream_read(struct h2up_stream *st, struct buf *dst);
/* Whether the whole response was read out (the end of its body too). */
int h2up_stream_done(const struct h2up_stream *st);
/* Resets the stream (CANCEL) unless it is closed. */
void h2up_stream_reset(struct h2up_stream *st);
/* The owner lets go; an open stream is reset (CANCEL). */
void h2up_stream_release(struct h2up_stream *st);

#endif

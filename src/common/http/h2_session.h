/* h2_session.h — HTTP/2 for one client connection, on libnghttp2 (which
 * owns framing, HPACK and the stream state machine): the session and its
 * SETTINGS, a struct per request stream, each request's head translated
 * into HTTP/1.1 (h2_head.h), request bodies held within each stream's
 * window, responses handed to nghttp2 as the client's windows allow, and
 * the guards against the protocol's known abuse.
 *
 * It knows no socket, connection or exchange.  Its owner (h2.c; the fuzz
 * target) feeds it the bytes read (h2_session_recv), takes the frames to
 * write (h2_session_send), and serves the streams it hands out
 * (h2_session_next): a request whose head is complete, DATA that came,
 * room made in a response buffer, a stream closed.  Nothing here calls the
 * owner back but `abuse`, so the owner's exchanges are never driven from
 * inside nghttp2's callbacks.
 *
 * Flow control.  A stream's window (stream_window) opens only as its
 * request body leaves its buffer (h2_stream_consume, when the bytes went
 * upstream), so an upstream that reads slowly holds back its own stream;
 * the connection's window opens as DATA lands in a stream's buffer, so
 * one slow stream never holds back the others.  Response DATA is made only
 * as the client's windows allow, from each stream's response buffer.
 *
 * Memory, per connection: nghttp2's session (its HPACK tables bounded by
 * the 4 KiB header table size both ways) and, per open stream (at most
 * max_concurrent_streams): the struct, the request head (a 16 KiB
 * buffer), the response buffer (16 KiB, while it answers) and the request
 * body buffer (16 KiB, or 64 KiB for a window above 16 KiB, only while a
 * body arrives).
 *
 * Abuse, each counted and logged by the owner through `abuse`, and each
 * ending the connection with GOAWAY(ENHANCE_YOUR_CALM) unless said: rapid
 * reset (RST_STREAM frames past reset_budget in a 10 s window,
 * CVE-2023-44487); CONTINUATION floods (more than max_continuations after
 * one HEADERS, or a header block over 4 times max_header_bytes on the
 * wire, CVE-2024-27316 and its kin); HPACK bombs (a header block decoding
 * to over 4 times max_header_bytes; one merely over the limit gets 431 on
 * its stream); SETTINGS, PING, PRIORITY and empty-frame floods (each kind
 * past flood_budget in a 10 s window; PING and SETTINGS ACKs piling up
 * unread too); a stream window held at zero with data waiting for
 * send_timeout (that stream is reset, CANCEL) or the connection's (the
 * connection goes); no SETTINGS ACK within settings_timeout
 * (SETTINGS_TIMEOUT). */
#ifndef GH_H2_SESSION_H
#define GH_H2_SESSION_H

#include "buf.h"
#include "h2_head.h"
#include "stats.h"

#include <nghttp2/nghttp2.h>
#include <stdint.h>

struct h2_session;

/* What a session is held to: the `http2` section's, the `http` section's
 * header limits, and timeouts.send for stalled windows. */
struct h2_limits {
    uint32_t max_streams, stream_window, max_continuations;
    uint32_t max_head, max_fields; /* http.max_header_bytes, http.max_headers */
    uint32_t reset_budget, flood_budget;
    uint32_t settings_timeout, send_timeout; /* ms */
};

/* One request stream.  Owned by its session; created by the client's
 * HEADERS, freed once nghttp2 has closed it and its owner has released
 * it.  The owner reads the fields marked so; the rest is the session's. */
struct h2_stream {
    int32_t id;
    struct h2_session *s;
    void *user;               /* owner: its exchange; NULL none */
    struct buf *head;         /* the request head in HTTP/1.1 (h2_reqhead), whole once
                                 head_done; owner: the exchange's cin */
    struct buf *body;         /* request DATA not taken yet; NULL none */
    struct buf *out;          /* owner: the exchange's cout: HTTP/1 heads, then the
                                 response body for the data provider */
    struct buf *trailers;     /* request trailer lines; the owner may take them */
    uint64_t bytes_in;        /* HEADERS and DATA payload received */
    uint64_t start_ms;        /* when its HEADERS came */
    uint16_t refuse;          /* answer this status instead of forwarding (431, 501) */
    const char *refuse_why;
    uint32_t error_code;      /* closed: the code it closed with */
    unsigned head_done : 1;   /* the request head is complete (or refused) */
    unsigned te_trailers : 1; /* the client sent "te: trailers" */
    unsigned in_end : 1;      /* END_STREAM came: no more request bytes */
    unsigned closed : 1;      /* nghttp2 closed the stream (both ends, or a reset) */
    unsigned resp_final : 1;  /* the final response head went to nghttp2 */
    unsigned body_end : 1;    /* the whole response body is in `out` (h2_stream_end) */
    unsigned eof_sent : 1;    /* ...and nghttp2 has had all of it: the response is done */
    /* the session's own */
    unsigned queued : 1, released : 1, deferred : 1, end_sent : 1, rst_after_end : 1;
    struct h2_reqhead rh;
    struct buf *resp_trailers; /* trailer lines for the end of the response */
    uint64_t stall_since;      /* its window at zero with data waiting since (ms), 0 not */
    struct h2_stream *prev, *next, *qnext;
};

/* What the session tells its owner as it happens (from inside nghttp2's
 * callbacks: count and log, nothing more). */
struct h2_session_hooks {
    /* A kind of abuse was caught (stats.h's H2_*): `detail` says what
     * (static); the session has ended the connection or the stream. */
    void (*abuse)(void *owner, enum stats_h2_abuse kind, const char *detail);
    /* Stream `id` was refused as malformed (reset with PROTOCOL_ERROR):
     * why (static).  Nothing of it went anywhere. */
    void (*malformed)(void *owner, int32_t id, const char *why);
};

/* A server session with SETTINGS submitted.  `mem` (NULL: malloc) is
 * nghttp2's allocator, `now` the loop's clock (ms). */
struct h2_session *h2_session_new(const struct h2_limits *lim, const struct h2_session_hooks *hooks,
                                  void *owner, nghttp2_mem *mem, uint64_t now);
/* Frees the session and every stream left (their owners let go first). */
void h2_session_free(struct h2_session *s);

/* Feeds n bytes read from the client.  Returns GH_OK, or GH_ERROR when
 * the connection must end: flush what h2_session_send still gives (a
 * GOAWAY), then close; h2_session_error says why. */
int h2_session_recv(struct h2_session *s, const char *p, size_t n, uint64_t now);

/* Appends the frames ready to go to out, as far as it has room.  Returns
 * GH_OK when nothing more is ready, GH_AGAIN when out is full first,
 * GH_ERROR (the connection must close). */
int h2_session_send(struct h2_session *s, struct buf *out);

/* The next stream that needs its owner's attention, or NULL: its head is
 * complete, DATA or END_STREAM came, its response buffer has room again
 * or its response went (eof_sent), or it closed.  A closed stream no
 * owner holds is freed here instead. */
struct h2_stream *h2_session_next(struct h2_session *s);

/* The streams alive, for walking (st->next). */
struct h2_stream *h2_session_streams(const struct h2_session *s);
/* How many streams are alive. */
unsigned h2_session_nstreams(const struct h2_session *s);

/* Whether the session is still wanted: 0 once both ends have said GOAWAY
 * (or a fatal error) and no stream is left: the connection may close. */
int h2_session_alive(const struct h2_session *s);

/* Why the session failed (a static string), NULL if it has not. */
const char *h2_session_error(const struct h2_session *s);

/* Graceful end (drain, reload, idle): GOAWAY with the last stream id
 * after a shutdown notice and one round trip (a PING), or at once with
 * `now_final`; the streams in flight finish. */
void h2_session_shutdown(struct h2_session *s, int now_final);

/* The session's next deadline (loop ms; UINT64_MAX none): the SETTINGS
 * ACK, a stalled window, the final GOAWAY after a notice. */
uint64_t h2_session_deadline(const struct h2_session *s);
/* Acts on the deadlines passed by `now`. */
void h2_session_expire(struct h2_session *s, uint64_t now);

/* ---- a stream, for its owner ---- */

/* Submits the HTTP/1 heads at the start of st->out (interim ones, then
 * the final one; each consumed): the final one with a body to follow when
 * bytes remain in st->out after it or `more` says more will come.
 * Returns GH_OK once the final head went, GH_AGAIN when only interim ones
 * (or none) were there, GH_ERROR for a head that cannot be sent. */
int h2_stream_respond(struct h2_stream *st, int req_is_head, int more);
/* The same for interim heads only: stops before a final one (GH_AGAIN). */
int h2_stream_interim(struct h2_stream *st);
/* Bytes were added to st->out: they may go. */
void h2_stream_more(struct h2_stream *st);
/* The response body is all in st->out; `trailers` (lines, may be NULL)
 * are sent after it (copied). */
void h2_stream_end(struct h2_stream *st, const struct buf *trailers);
/* n bytes of the request body left st->body (went upstream): the
 * client's window for the stream opens by as much. */
void h2_stream_consume(struct h2_stream *st, size_t n);
/* Resets the stream (RST_STREAM with code) unless it is closed. */
void h2_stream_reset(struct h2_stream *st, uint32_t code);
/* The owner is done with it (st->user is cleared): request bytes still to
 * come are read away, and a stream whose request never ended is reset
 * (NO_ERROR) once its response has gone (RFC 9113 8.1). */
void h2_stream_release(struct h2_stream *st);

#endif

/* body.h — moving one message body from a buffer to a socket (or to a
 * buffer: an HTTP/2 stream's), decoding its framing on the way in and
 * (optionally) chunk-encoding it on the way out, trailers included.
 *
 * The body never sits in memory whole: bytes go from the source buffer to the
 * destination as soon as they arrive, and when the destination blocks the
 * caller stops reading the source (backpressure both ways). */
#ifndef GH_BODY_H
#define GH_BODY_H

#include "buf.h"
#include "http1.h"

struct body {
    enum http_framing in;   /* how the source delimits the body */
    uint64_t left;          /* LENGTH: bytes still to come */
    struct http_chunked ck; /* CHUNKED: decoder state */
    int chunk_out;          /* re-encode as chunked on output */
    char hdr[20];           /* pending chunk-size line of the output */
    uint8_t hdr_len, hdr_off;
    uint64_t chunk_left;    /* data bytes of the current output chunk left */
    uint8_t crlf_left;      /* bytes of the CRLF after that chunk's data left */
    uint32_t last_left;     /* bytes of the last chunk ("0\r\n", trailers, "\r\n") left */
    unsigned big_ok : 1;    /* relay_pump may read into a big buffer (see buf.h) */
    unsigned in_done : 1;   /* the source's body has ended */
    unsigned done : 1;      /* everything, terminator included, was written */
    uint64_t moved;         /* body bytes (decoded) delivered */
    const char *error;      /* static reason on GH_ERROR */
    /* Optional: bytes to send before the body (the response head), in the
     * same write as its first bytes; body_pump empties it before it
     * reports the body done.  Set after body_init; prefix_out counts what
     * of it went out. */
    struct buf *prefix;
    uint64_t prefix_out;
    /* Optional: sees every decoded data byte once, just before it is
     * written (a cache filling an object), and tee_end once the last of
     * them was seen, before the write that lets the reader see the end:
     * whoever reads the whole body can count on the tee having ended.
     * Set after body_init. */
    void (*tee)(void *arg, const char *p, size_t n);
    void (*tee_end)(void *arg);
    void *tee_arg;
    uint64_t teed;          /* bytes at the head of the source already teed */
    unsigned tee_ended : 1;
    /* Optional: a metered body (a bandwidth limit, a quota) may read at
     * most `allow` more bytes from its source until the meter grants more
     * (meter.h); whoever pumps it (relay_pump) stops reading at 0 and lets
     * what it holds go out.  Set per pump, after body_init. */
    unsigned metered : 1;
    uint64_t allow;
    /* Optional: the destination is this buffer instead of a descriptor
     * (body_pump's fd is then ignored): the bytes are appended, and the
     * body waits while it is full.  Set after body_init. */
    struct buf *sink;
    /* Optional: trailer field lines ("Name: value\r\n" each) the chunked
     * output's last chunk carries; set before the body ends. */
    const struct buf *trailers_out;
    /* Optional: a chunked source's trailer lines, as received (each
     * "Name: value\r\n", then the blank line), are appended to *trailers_in
     * (a buffer taken when NULL).  Set after body_init. */
    struct buf **trailers_in;
    /* Optional, with trailers_in: once the source's body has ended, the
     * trailer lines kept there (their blank line dropped) become the
     * chunked output's trailers_out.  Set after body_init. */
    unsigned trailers_relay : 1;
    /* Optional: the data bytes pass through this encoder (compress.h,
     * owned by the exchange) and its output is what is written, chunked
     * when chunk_out.  `moved` still counts the data bytes taken; zout
     * counts the encoded bytes written.  `dry` is set by the caller when
     * the source has nothing more for now: the encoder is flushed, so a
     * pausing upstream's bytes are not held back. */
    struct compress_enc *z;
    uint64_t zout;
    unsigned dry : 1;
    /* Optional: the body may move from socket to socket through a pipe
     * with splice(2) (relay.h) when nothing looks at its bytes: no
     * encoder, tee, sink or meter, and neither side TLS.  Set after
     * body_init by whoever owns both descriptors.  The pipe (pfd) is
     * held by the body only while bytes wait in it (piped); body_init and
     * body_release close one still held. */
    unsigned splice : 1;
    unsigned has_pipe : 1;
    int pfd[2];
    uint32_t piped, pipe_cap;
    uint64_t spliced;       /* bytes that went through the pipe */
};

/* Starts a body of the given framing (`len` for HTTP_BODY_LENGTH); a pipe
 * the body still held is closed. */
void body_init(struct body *b, enum http_framing in, uint64_t len, int chunk_out);

/* Closes the pipe b holds, if any (the body ended early, bytes in it). */
void body_release(struct body *b);

/* Whether the next bytes of b's source may bypass src (empty) and move
 * through a pipe (body.splice set, nothing to transform, the response head
 * out, a data stretch of the source's framing under way).  When b
 * re-chunks its output, the chunk-size line of the stretch is written to
 * fd first.  Returns 1 with *max set to the source bytes that may go into
 * the pipe (> 0), 0 when the body must go through src now (body_pump),
 * or -1 when writing that line failed (errno; EAGAIN: fd is full).  Only
 * with an empty pipe (b->piped 0). */
int body_splice_ready(struct body *b, const struct buf *src, int fd, uint64_t *max);

/* Accounts for n source bytes that went into the pipe (they are taken
 * from the framing), and for n that left it to the destination. */
void body_spliced_in(struct body *b, uint64_t n);
void body_spliced_out(struct body *b, uint64_t n);

/* Runs b's decoder, on a copy of its state, over p[0..len): the first
 * bytes of b's source, not moved yet.  Returns 0 when their framing holds
 * no error so far (whether or not the body ends within them; bytes past
 * its end are not looked at), or -1 with *why set.  Only a chunked body's
 * framing can be wrong; others return 0. */
int body_check_ahead(const struct body *b, const char *p, size_t len, const char **why);

/* Moves what it can from src to fd; fd < 0 discards the bytes instead.
 * `src_eof` says the source connection has ended.  Returns GH_DONE once the
 * whole body is delivered, GH_AGAIN when it needs more input (*out_blocked
 * = 0) or the destination would block (*out_blocked = 1), or GH_ERROR with
 * b->error set (bad framing, a truncated body, a failed write; errno from
 * the write is kept). */
int body_pump(struct body *b, struct buf *src, int src_eof, int fd, int *out_blocked);

/* Whether b's encoder holds bytes that a pump with b->dry set would flush
 * (the caller found the source dry).  0 without an encoder. */
int body_wants_flush(const struct body *b);

#endif

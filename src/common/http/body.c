/* body.c — streaming one body from a buffer to a socket or a buffer (see
 * body.h).  Owns only the framing state; the buffers and descriptors are
 * the caller's. */
#include "body.h"
#include "compress.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>


void body_release(struct body *b)
{
    if (b->has_pipe) {
        close(b->pfd[0]);
        close(b->pfd[1]);
        b->has_pipe = 0;
        b->piped = 0;
    }
}

void body_init(struct body *b, enum http_framing in, uint64_t len, int chunk_out)
{
    body_release(b);
    memset(b, 0, sizeof(*b));
    b->in = in;
    b->left = len;
    b->chunk_out = chunk_out;
    if (in == HTTP_BODY_NONE || (in == HTTP_BODY_LENGTH && len == 0)) {
        b->in_done = 1;
        b->chunk_out = 0; /* an empty body is sent without framing */
    }
}

/* Appends what of iov fits to the sink; -1 with EAGAIN when nothing does. */
static ssize_t out_sink(struct buf *sink, const struct iovec *iov, int n)
{
    size_t all = 0;

    for (int i = 0; i < n; i++) {
        if (buf_room(sink) < iov[i].iov_len && sink->start)
            buf_compact(sink);
        size_t k = buf_append(sink, iov[i].iov_base, iov[i].iov_len);
        all += k;
        if (k < iov[i].iov_len)
            break;
    }
    if (all == 0 && n > 0) {
        errno = EAGAIN;
        return -1;
    }
    return (ssize_t)all;
}

/* Writes iov to fd (or the sink); returns bytes written, or -1 with errno
 * (EAGAIN kept). */
static ssize_t out(const struct body *b, int fd, struct iovec *iov, int n)
{
    ssize_t w;

    if (b->sink)
        return out_sink(b->sink, iov, n);
    if (fd < 0) { /* discarding: everything "written" */
        size_t all = 0;
        for (int i = 0; i < n; i++)
            all += iov[i].iov_len;
        return (ssize_t)all;
    }
    do
        w = io_writev(fd, iov, n);
    while (w < 0 && errno == EINTR);
    return w;
}

/* Writes iov behind what is left of the prefix, in one call; returns the
 * bytes of iov written (0 when only prefix bytes went), or -1 with errno. */
static ssize_t out_pre(struct body *b, int fd, const struct iovec *iov, int n)
{
    size_t plen = b->prefix && (fd >= 0 || b->sink) ? buf_len(b->prefix) : 0, k;
    struct iovec all[7];
    ssize_t w;

    if (!plen)
        return out(b, fd, (struct iovec *)iov, n);
    all[0] = (struct iovec){buf_head(b->prefix), plen};
    for (int i = 0; i < n; i++)
        all[i + 1] = iov[i];
    w = out(b, fd, all, n + 1);
    if (w < 0)
        return w;
    k = GH_MIN((size_t)w, plen);
    buf_consume(b->prefix, k);
    b->prefix_out += k;
    return w - (ssize_t)k;
}

/* Writes the prefix alone (no body bytes are ready, or the body is over).
 * Returns GH_OK when it is empty, GH_AGAIN when fd would block, GH_ERROR. */
static int flush_prefix(struct body *b, int fd)
{
    while (b->prefix && (fd >= 0 || b->sink) && buf_len(b->prefix)) {
        ssize_t w = out_pre(b, fd, NULL, 0);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? GH_AGAIN : GH_ERROR;
    }
    return GH_OK;
}

/* The tee has seen everything: tells it so, once. */
static void tee_end(struct body *b)
{
    if (b->tee && !b->tee_ended) {
        b->tee_ended = 1;
        if (b->tee_end)
            b->tee_end(b->tee_arg);
    }
}

/* The n data bytes at the head of src are about to be written: shows the
 * tee those it has not seen, and ends it when they complete a body of
 * known length. */
static void tee_ahead(struct body *b, struct buf *src, size_t n)
{
    if (!b->tee || n <= b->teed)
        return;
    b->tee(b->tee_arg, buf_head(src) + b->teed, n - (size_t)b->teed);
    b->teed = n;
    if (b->in == HTTP_BODY_LENGTH && b->teed >= b->left)
        tee_end(b);
}

/* Records that n decoded data bytes left the source. */
static void took(struct body *b, struct buf *src, size_t n)
{
    b->teed -= GH_MIN(b->teed, (uint64_t)n);
    buf_consume(src, n);
    b->moved += n;
    if (b->in == HTTP_BODY_LENGTH)
        b->left -= n;
    else if (b->in == HTTP_BODY_CHUNKED)
        http1_chunked_data(&b->ck, n);
}

/* The last n bytes of the framing just consumed from p were trailer lines
 * (the decoder counts them): they are kept where the body asks. */
static void keep_trailers(struct body *b, const char *p, size_t n)
{
    if (!n || !b->trailers_in)
        return;
    if (!*b->trailers_in)
        *b->trailers_in = buf_get();
    buf_append(*b->trailers_in, p, n); /* at most HTTP1_CHUNK_MAX_TRAILERS: it fits */
    if (b->trailers_relay && b->ck.state == CHUNK_DONE && buf_len(*b->trailers_in) >= 2) {
        (*b->trailers_in)->end -= 2; /* the blank line: the last chunk writes its own */
        b->trailers_out = *b->trailers_in;
    }
}

/* How many data bytes are ready in src now; also advances the decoder over
 * framing and notices the end of the body.  -1 on a framing error. */
static long ready(struct body *b, struct buf *src, int src_eof)
{
    long n;

    switch (b->in) {
    case HTTP_BODY_LENGTH:
        if (b->left == 0) {
            b->in_done = 1;
            return 0;
        }
        if (buf_len(src) == 0 && src_eof) {
            b->error = "body truncated: connection closed before Content-Length bytes";
            return -1;
        }
        return (long)GH_MIN((uint64_t)buf_len(src), b->left);
    case HTTP_BODY_CHUNKED: {
        uint32_t trailer_had = b->ck.trailer_len;
        n = http1_chunked_parse(&b->ck, buf_head(src), buf_len(src));
        if (n < 0) {
            b->error = b->ck.error ? b->ck.error : "bad chunked framing";
            return -1;
        }
        keep_trailers(b, buf_head(src) + n - (b->ck.trailer_len - trailer_had),
                      b->ck.trailer_len - trailer_had);
        buf_consume(src, (size_t)n);
        if (b->ck.state == CHUNK_DONE) {
            b->in_done = 1;
            return 0;
        }
        if (buf_len(src) == 0 && src_eof) {
            b->error = "body truncated: connection closed inside chunked body";
            return -1;
        }
        if (b->ck.state != CHUNK_DATA)
            return 0;
        return (long)GH_MIN((uint64_t)buf_len(src), b->ck.remaining);
    }
    case HTTP_BODY_CLOSE:
        if (buf_len(src) == 0 && src_eof)
            b->in_done = 1;
        return (long)buf_len(src);
    default:
        b->in_done = 1;
        return 0;
    }
}

int body_check_ahead(const struct body *b, const char *p, size_t len, const char **why)
{
    struct http_chunked ck = b->ck;

    if (b->in != HTTP_BODY_CHUNKED)
        return 0;
    while (len > 0 && ck.state != CHUNK_DONE) {
        long n = http1_chunked_parse(&ck, p, len);
        uint64_t data;
        if (n < 0) {
            *why = ck.error ? ck.error : "bad chunked framing";
            return -1;
        }
        p += n;
        len -= (size_t)n;
        if (ck.state != CHUNK_DATA)
            continue; /* all read (len is 0), or the end of the body */
        data = GH_MIN((uint64_t)len, ck.remaining);
        http1_chunked_data(&ck, data);
        p += data;
        len -= (size_t)data;
    }
    return 0;
}

/* The last chunk: "0\r\n", the trailer lines, "\r\n". */
static uint32_t last_chunk_len(const struct body *b)
{
    return 5 + (b->trailers_out ? (uint32_t)buf_len(b->trailers_out) : 0);
}

/* What of the last chunk is still to go (b->last_left bytes), as iov;
 * returns the number of pieces. */
static int last_chunk_iov(const struct body *b, struct iovec *iov)
{
    size_t tlen = b->trailers_out ? buf_len(b->trailers_out) : 0;
    size_t at = last_chunk_len(b) - b->last_left; /* bytes gone */
    const struct iovec piece[3] = {
        {(char *)"0\r\n", 3},
        {tlen ? buf_head(b->trailers_out) : NULL, tlen},
        {(char *)"\r\n", 2},
    };
    int n = 0;

    for (int i = 0; i < 3; i++) {
        if (at >= piece[i].iov_len) {
            at -= piece[i].iov_len;
            continue;
        }
        iov[n].iov_base = (char *)piece[i].iov_base + at;
        iov[n++].iov_len = piece[i].iov_len - at;
        at = 0;
    }
    return n;
}

/* Settles a write of w bytes over the pending pieces of a chunked output. */
static void settle_chunked(struct body *b, struct buf *src, size_t w)
{
    size_t k = GH_MIN(w, (size_t)(b->hdr_len - b->hdr_off));

    b->hdr_off += (uint8_t)k;
    w -= k;
    k = (size_t)GH_MIN((uint64_t)w, b->chunk_left);
    if (k) {
        took(b, src, k);
        b->chunk_left -= k;
        w -= k;
    }
    k = GH_MIN(w, (size_t)b->crlf_left);
    b->crlf_left -= (uint8_t)k;
}

/* ---- through an encoder ---- */

/* The head (the prefix) waits for the encoder's first bytes too, so both
 * go in one write; a pause of the source sends it alone. */
int body_wants_flush(const struct body *b)
{
    return b->z && !b->done && !b->dry &&
           (compress_enc_unflushed(b->z) || (b->prefix && buf_len(b->prefix)));
}

/* Whether the waiting output is the stream's last and the last chunk can
 * follow it in the same write. */
static int z_last(const struct body *b, size_t plen, size_t d)
{
    size_t wait;
    return b->chunk_out && b->in_done && compress_enc_done(b->z) &&
           d == b->chunk_left && (compress_enc_out(b->z, &wait), wait == plen);
}

/* Writes the encoder's waiting output once it is ready (a full buffer, a
 * flush or the end: compress_enc_ready), as one chunk when chunk_out (its
 * size line and CRLF settled across partial writes).  Returns GH_OK when
 * all of it went (or none is ready), GH_AGAIN when fd would block,
 * GH_ERROR (errno kept). */
static int z_write(struct body *b, int fd)
{
    size_t plen;
    const char *p = compress_enc_out(b->z, &plen);

    if (!compress_enc_ready(b->z))
        plen = 0; /* gathering: more input may join it in one write */

    while (plen || b->hdr_off < b->hdr_len || b->crlf_left) {
        struct iovec iov[6];
        ssize_t w;
        size_t k, d;
        int n = 0;

        if (!b->chunk_left && b->hdr_off == b->hdr_len && !b->crlf_left) { /* a new chunk */
            if (b->tee) /* what is stored is what the client gets */
                b->tee(b->tee_arg, p, plen);
            b->chunk_left = plen;
            b->hdr_off = b->hdr_len = 0;
            if (b->chunk_out) {
                b->hdr_len = (uint8_t)gh_fmt(b->hdr, sizeof(b->hdr), "%zx\r\n", plen);
                b->crlf_left = 2;
            }
        }
        d = (size_t)GH_MIN((uint64_t)plen, b->chunk_left);
        if (b->hdr_off < b->hdr_len)
            iov[n++] = (struct iovec){b->hdr + b->hdr_off, (size_t)(b->hdr_len - b->hdr_off)};
        if (d)
            iov[n++] = (struct iovec){(char *)p, d};
        if (d == b->chunk_left && b->crlf_left)
            iov[n++] = (struct iovec){(char *)"\r\n" + 2 - b->crlf_left, b->crlf_left};
        if (z_last(b, plen, d)) { /* "0\r\n...": one write less */
            if (b->last_left == 0)
                b->last_left = last_chunk_len(b);
            n += last_chunk_iov(b, iov + n);
        }
        w = out_pre(b, fd, iov, n);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? GH_AGAIN : GH_ERROR;
        k = GH_MIN((size_t)w, (size_t)(b->hdr_len - b->hdr_off));
        b->hdr_off += (uint8_t)k;
        w -= (ssize_t)k;
        k = (size_t)GH_MIN((uint64_t)w, b->chunk_left);
        compress_enc_took(b->z, k);
        b->chunk_left -= k;
        b->zout += k;
        w -= (ssize_t)k;
        k = GH_MIN((size_t)w, (size_t)b->crlf_left);
        b->crlf_left -= (uint8_t)k;
        w -= (ssize_t)k;
        if (w > 0 && b->last_left) { /* the merged last chunk */
            b->last_left -= (uint32_t)w;
            b->done = b->last_left == 0;
        }
        p = compress_enc_out(b->z, &plen);
    }
    return GH_OK;
}

/* body_pump for a body through an encoder: decode, encode, write; the
 * encoder takes input only once its output is written (bounded memory). */
static int pump_z(struct body *b, struct buf *src, int src_eof, int fd, int *out_blocked)
{
    for (;;) {
        long avail;
        int rc = z_write(b, fd);

        if (rc == GH_AGAIN) {
            *out_blocked = 1;
            return GH_AGAIN;
        }
        if (rc == GH_ERROR) {
            b->error = "write failed";
            return GH_ERROR;
        }
        if (compress_enc_error(b->z)) {
            b->error = compress_enc_error(b->z);
            return GH_ERROR;
        }
        if (compress_enc_done(b->z) && b->in_done) {
            tee_end(b); /* every encoded byte was shown to it */
            break;
        }
        if (b->in_done) {
            compress_enc_flush(b->z, 1);
            continue;
        }
        avail = ready(b, src, src_eof);
        if (avail < 0)
            return GH_ERROR;
        if (avail > 0) {
            size_t took_n;
            /* a decoder whose stream ended: the rest of the body is dropped */
            took_n = compress_enc_done(b->z) ? (size_t)avail
                                             : compress_enc_feed(b->z, buf_head(src), (size_t)avail);
            took(b, src, took_n);
            continue;
        }
        if (b->in_done || (b->in == HTTP_BODY_CHUNKED && b->ck.state != CHUNK_DATA && buf_len(src)))
            continue;
        if (b->dry && compress_enc_unflushed(b->z)) { /* the source paused: send what we have */
            compress_enc_flush(b->z, 0);
            continue;
        }
        /* the head waits for the first encoded bytes unless the source paused
         * (or a meter holds it back) */
        if ((b->dry || b->metered) && flush_prefix(b, fd) != GH_OK)
            goto write_failed;
        b->dry = 0;
        return GH_AGAIN;
    }
    /* the encoded stream is out: the last chunk */
    if (b->chunk_out) {
        struct iovec iov[3];
        while (b->last_left || !b->done) {
            ssize_t w;
            if (b->last_left == 0)
                b->last_left = last_chunk_len(b);
            w = out_pre(b, fd, iov, last_chunk_iov(b, iov));
            if (w < 0)
                goto write_failed;
            b->last_left -= (uint32_t)w;
            if (b->last_left == 0)
                b->done = 1;
        }
    } else if (flush_prefix(b, fd) != GH_OK) {
        goto write_failed;
    }
    b->done = 1;
    return GH_DONE;

write_failed:
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        *out_blocked = 1;
        return GH_AGAIN;
    }
    b->error = "write failed";
    return GH_ERROR;
}

int body_pump(struct body *b, struct buf *src, int src_eof, int fd, int *out_blocked)
{
    struct iovec iov[3];
    ssize_t w;
    long avail;
    int n;

    *out_blocked = 0;
    if (b->z)
        return pump_z(b, src, src_eof, fd, out_blocked);
    while (!b->done) {
        /* Finish the output chunk in progress before decoding more. */
        if (b->chunk_out && (b->hdr_off < b->hdr_len || b->chunk_left || b->crlf_left)) {
            size_t d = (size_t)GH_MIN((uint64_t)buf_len(src), b->chunk_left);

            n = 0;
            if (b->hdr_off < b->hdr_len)
                iov[n++] = (struct iovec){b->hdr + b->hdr_off, (size_t)(b->hdr_len - b->hdr_off)};
            if (d)
                iov[n++] = (struct iovec){buf_head(src), d};
            if (d == b->chunk_left && b->crlf_left)
                iov[n++] = (struct iovec){(char *)"\r\n" + 2 - b->crlf_left, b->crlf_left};
            tee_ahead(b, src, d);
            if (n == 0) {
                if (src_eof) {
                    b->error = "body truncated: connection closed mid-body";
                    return GH_ERROR;
                }
                goto need_input;
            }
            w = out_pre(b, fd, iov, n);
            if (w < 0)
                goto write_failed;
            settle_chunked(b, src, (size_t)w);
            continue;
        }
        if (b->in_done) {
            tee_end(b);
            if (!b->chunk_out) {
                if (flush_prefix(b, fd) != GH_OK)
                    goto write_failed;
                b->done = 1;
                break;
            }
            if (b->last_left == 0)
                b->last_left = last_chunk_len(b);
            n = last_chunk_iov(b, iov);
            w = out_pre(b, fd, iov, n);
            if (w < 0)
                goto write_failed;
            b->last_left -= (uint32_t)w;
            if (b->last_left == 0)
                b->done = 1;
            continue;
        }
        avail = ready(b, src, src_eof);
        if (avail < 0)
            return GH_ERROR;
        if (avail == 0) {
            if (b->in_done)
                continue;
            if (b->in == HTTP_BODY_CHUNKED && b->ck.state != CHUNK_DATA && buf_len(src) > 0)
                continue; /* framing consumed, more framing to parse */
            goto need_input;
        }
        if (b->chunk_out) {
            b->hdr_len = (uint8_t)gh_fmt(b->hdr, sizeof(b->hdr), "%lx\r\n", (unsigned long)avail);
            b->hdr_off = 0;
            b->chunk_left = (uint64_t)avail;
            b->crlf_left = 2;
            continue;
        }
        iov[0] = (struct iovec){buf_head(src), (size_t)avail};
        tee_ahead(b, src, (size_t)avail);
        w = out_pre(b, fd, iov, 1);
        if (w < 0)
            goto write_failed;
        took(b, src, (size_t)w);
    }
    return GH_DONE;

need_input:
    /* nothing of the body to go with it: the head goes alone, now */
    if (flush_prefix(b, fd) != GH_OK)
        goto write_failed;
    return GH_AGAIN;

write_failed:
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        *out_blocked = 1;
        return GH_AGAIN;
    }
    b->error = "write failed";
    return GH_ERROR;
}

/* ---- through a pipe (relay.c moves the bytes) ---- */

/* A chunk shorter than this goes through the buffer when the output is
 * re-chunked: its size line would cost a write of its own. */
#define SPLICE_CHUNK_MIN 4096

int body_splice_ready(struct body *b, const struct buf *src, int fd, uint64_t *max)
{
    if (!b->splice || b->z || b->tee || b->sink || b->metered || b->in_done || b->done ||
        fd < 0 || buf_len(src) || (b->prefix && buf_len(b->prefix)))
        return 0;
    switch (b->in) {
    case HTTP_BODY_LENGTH:
        *max = b->left;
        break;
    case HTTP_BODY_CLOSE:
        *max = UINT64_MAX;
        break;
    case HTTP_BODY_CHUNKED:
        if (b->ck.state != CHUNK_DATA || b->ck.remaining == 0)
            return 0;
        *max = b->ck.remaining;
        break;
    default:
        return 0;
    }
    if (*max == 0)
        return 0;
    if (!b->chunk_out)
        return 1;
    if (b->in != HTTP_BODY_CHUNKED)
        return 0; /* re-chunking a body of another framing: the buffer's path */
    if (b->hdr_off == b->hdr_len && b->chunk_left == 0) {
        if (b->crlf_left || b->ck.remaining < SPLICE_CHUNK_MIN)
            return 0; /* body_pump ends the chunk in progress, or takes a short one */
        b->hdr_len = (uint8_t)gh_fmt(b->hdr, sizeof(b->hdr), "%llx\r\n",
                                     (unsigned long long)b->ck.remaining);
        b->hdr_off = 0;
        b->chunk_left = b->ck.remaining;
        b->crlf_left = 2;
    }
    while (b->hdr_off < b->hdr_len) {
        struct iovec iov = {b->hdr + b->hdr_off, (size_t)(b->hdr_len - b->hdr_off)};
        ssize_t w = out(b, fd, &iov, 1);
        if (w < 0)
            return -1;
        b->hdr_off += (uint8_t)w;
    }
    *max = GH_MIN(*max, b->chunk_left);
    return *max > 0;
}

void body_spliced_in(struct body *b, uint64_t n)
{
    if (b->in == HTTP_BODY_LENGTH)
        b->left -= n;
    else if (b->in == HTTP_BODY_CHUNKED)
        http1_chunked_data(&b->ck, n);
}

void body_spliced_out(struct body *b, uint64_t n)
{
    b->moved += n;
    b->spliced += n;
    if (b->chunk_out)
        b->chunk_left -= GH_MIN(n, b->chunk_left);
}

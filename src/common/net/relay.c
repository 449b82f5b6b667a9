/* relay.c — buffer-to-socket moving for bodies and tunnels (see relay.h). */
#include "relay.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>

ssize_t relay_fill(struct buf **bp, int fd, uint8_t *readable)
{
    return relay_fill_max(bp, fd, readable, SIZE_MAX);
}

ssize_t relay_fill_max(struct buf **bp, int fd, uint8_t *readable, size_t max)
{
    struct buf *b;
    ssize_t n;

    if (!*bp)
        *bp = buf_get();
    b = *bp;
    if (buf_room(b) == 0 && b->start == 0)
        return GH_AGAIN; /* full: the consumer must make room first */
    if (max >= buf_room(b) + b->start) {
        n = buf_read_fd(b, fd);
    } else { /* a metered read: no more than its allowance */
        if (buf_room(b) < max)
            buf_compact(b);
        do
            n = io_read(fd, buf_tail(b), GH_MIN(max, buf_room(b)));
        while (n < 0 && errno == EINTR);
        if (n > 0)
            b->end += (uint32_t)n;
        else if (n < 0)
            n = errno == EAGAIN || errno == EWOULDBLOCK ? GH_AGAIN : GH_ERROR;
        if (n == (ssize_t)max)
            return n; /* stopped by the allowance, not by an empty socket */
    }
    if (n == GH_AGAIN)
        *readable = 0;
    else if (n > 0 && *readable == READY_IN && buf_room(b) > 0 && !tls_io_ssl(fd))
        *readable = 0; /* short: the socket is empty now */
    return n;
}

void relay_drop_empty(struct buf **bp)
{
    if (*bp && buf_len(*bp) == 0) {
        buf_put(*bp);
        *bp = NULL;
    }
}

/* Whether more than a small buffer of the body is still to come. */
static int long_body(const struct body *b)
{
    return b->in == HTTP_BODY_LENGTH ? b->left > BUF_SIZE : b->in != HTTP_BODY_NONE;
}

int relay_pump(struct body *b, struct buf **src, int src_fd, uint8_t *src_readable, int *src_eof,
               int dst_fd, uint8_t *dst_writable, uint64_t *counted_in, int *active)
{
    int progress = GH_AGAIN;

    for (;;) {
        int blocked = 0, rc;
        uint64_t before = b->moved;
        size_t had;

        if (!*src)
            *src = buf_get();
        had = buf_len(*src);
        if (dst_fd >= 0 && !*dst_writable && !b->in_done && had)
            return progress;
        rc = body_pump(b, *src, *src_eof, dst_fd, &blocked);
        if (b->moved != before || buf_len(*src) != had) {
            progress = GH_OK;
            *active = 1;
        }
        if (rc == GH_DONE || rc == GH_ERROR)
            return rc;
        if (blocked) {
            *dst_writable = 0;
            return progress;
        }
        /* it needs input */
        if (!*src_eof && !*src_readable && body_wants_flush(b)) {
            b->dry = 1;
            continue;
        }
        if (*src_eof || !*src_readable)
            return progress;
        if (b->metered && !b->allow)
            return progress; /* the meter grants more later */
        if (b->big_ok && buf_len(*src) == 0 && (*src)->cap == BUF_SIZE && long_body(b)) {
            buf_put(*src);
            *src = buf_get_big();
        }
        ssize_t n = relay_fill_max(src, src_fd, src_readable, b->metered ? b->allow : SIZE_MAX);
        if (n == GH_AGAIN && body_wants_flush(b)) {
            b->dry = 1; /* the source paused: an encoder sends what it holds */
            continue;
        }
        if (n == GH_AGAIN)
            return progress;
        if (n == 0 || n == GH_ERROR)
            *src_eof = 1;
        else if (counted_in)
            *counted_in += (uint64_t)n;
        if (n > 0 && b->metered)
            b->allow -= (uint64_t)n;
        progress = GH_OK;
        *active = 1;
    }
}

void relay_grow(struct buf **bp, uint32_t cap)
{
    struct buf *big;

    if (!*bp || buf_len(*bp) < (*bp)->cap || (*bp)->cap >= cap)
        return;
    big = buf_get_cap(cap);
    buf_append(big, buf_head(*bp), buf_len(*bp));
    buf_put(*bp);
    *bp = big;
}

/* relay.c — buffer-to-socket moving for bodies and tunnels (see relay.h). */
#include "relay.h"
#include "tls.h"
#include "util.h"

ssize_t relay_fill(struct buf **bp, int fd, uint8_t *readable)
{
    ssize_t n;

    if (!*bp)
        *bp = buf_get();
    if (buf_room(*bp) == 0 && (*bp)->start == 0)
        return GH_AGAIN; /* full: the consumer must make room first */
    n = buf_read_fd(*bp, fd);
    if (n == GH_AGAIN)
        *readable = 0;
    else if (n > 0 && *readable == READY_IN && buf_room(*bp) > 0 && !tls_io_ssl(fd))
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
        if (b->big_ok && buf_len(*src) == 0 && (*src)->cap == BUF_SIZE && long_body(b)) {
            buf_put(*src);
            *src = buf_get_big();
        }
        ssize_t n = relay_fill(src, src_fd, src_readable);
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

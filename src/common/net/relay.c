/* relay.c — buffer-to-socket moving for bodies and tunnels (see relay.h). */
#include "relay.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

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

/* ---- bodies through a pipe (splice(2)) ---- */

/* A body's pipe holds up to this much; pipes are kept per thread between
 * bodies (an empty pipe costs no pages), at most PIPE_SPARES of them. */
#define BODY_PIPE_WANT (256u << 10)
#define PIPE_SPARES 16

static __thread struct {
    int fd[2];
    uint32_t cap;
} pipe_spare[PIPE_SPARES];
static __thread unsigned pipe_spares;

/* Gives b a pipe (a spare, or a new one).  Returns 0, or -1 when none can
 * be had (the body goes through the buffer). */
static int pipe_take(struct body *b)
{
    if (b->has_pipe)
        return 0;
    if (pipe_spares) {
        pipe_spares--;
        b->pfd[0] = pipe_spare[pipe_spares].fd[0];
        b->pfd[1] = pipe_spare[pipe_spares].fd[1];
        b->pipe_cap = pipe_spare[pipe_spares].cap;
    } else {
        int cap;
        if (pipe2(b->pfd, O_NONBLOCK | O_CLOEXEC) < 0)
            return -1;
        cap = fcntl(b->pfd[1], F_SETPIPE_SZ, (int)BODY_PIPE_WANT);
        if (cap < 0)
            cap = fcntl(b->pfd[1], F_GETPIPE_SZ);
        b->pipe_cap = cap > 0 ? (uint32_t)cap : 65536u;
    }
    b->has_pipe = 1;
    b->piped = 0;
    return 0;
}

/* An empty pipe goes back to the spares (or is closed). */
static void pipe_give_back(struct body *b)
{
    if (!b->has_pipe || b->piped)
        return;
    if (pipe_spares < PIPE_SPARES) {
        pipe_spare[pipe_spares].fd[0] = b->pfd[0];
        pipe_spare[pipe_spares].fd[1] = b->pfd[1];
        pipe_spare[pipe_spares].cap = b->pipe_cap;
        pipe_spares++;
        b->has_pipe = 0;
    } else {
        body_release(b);
    }
}

enum { SPLICE_STOP, SPLICE_BUFFERED, SPLICE_ERROR };

/* Empties b's pipe into dst.  Returns SPLICE_BUFFERED when it is empty,
 * SPLICE_STOP when dst is full, SPLICE_ERROR (b->error, errno kept). */
static int pipe_drain(struct body *b, int dst_fd, uint8_t *dst_writable, int *active)
{
    while (b->piped) {
        ssize_t n;
        if (!*dst_writable)
            return SPLICE_STOP;
        n = splice(b->pfd[0], NULL, dst_fd, NULL, b->piped, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            b->piped -= (uint32_t)n;
            body_spliced_out(b, (uint64_t)n);
            *active = 1;
        } else if (n < 0 && errno == EAGAIN) {
            *dst_writable = 0;
            return SPLICE_STOP;
        } else if (n == 0 || errno != EINTR) {
            if (n == 0)
                errno = EPIPE;
            b->error = "write failed";
            return SPLICE_ERROR;
        }
    }
    return SPLICE_BUFFERED;
}

/* Moves b socket to socket through its pipe while body_splice_ready
 * allows.  Returns SPLICE_STOP (wait for readiness), SPLICE_BUFFERED (the
 * pipe is empty and the body goes through the buffer now) or
 * SPLICE_ERROR. */
static int pump_spliced(struct body *b, struct buf *src, int src_fd, uint8_t *src_readable,
                        int *src_eof, int dst_fd, uint8_t *dst_writable, uint64_t *counted_in,
                        int *active)
{
    for (;;) {
        uint64_t max;
        ssize_t n;
        int rc = pipe_drain(b, dst_fd, dst_writable, active);

        if (rc != SPLICE_BUFFERED)
            return rc;
        if (*src_eof)
            break;
        rc = body_splice_ready(b, src, dst_fd, &max);
        if (rc < 0 && errno == EAGAIN) { /* a chunk-size line waits for room */
            *dst_writable = 0;
            return SPLICE_STOP;
        }
        if (rc < 0) {
            b->error = "write failed";
            return SPLICE_ERROR;
        }
        if (rc == 0)
            break;
        if (!*src_readable) {
            pipe_give_back(b);
            return SPLICE_STOP;
        }
        if (pipe_take(b) < 0)
            return SPLICE_BUFFERED;
        n = splice(src_fd, NULL, b->pfd[1], NULL, (size_t)GH_MIN(max, (uint64_t)b->pipe_cap),
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            b->piped += (uint32_t)n;
            body_spliced_in(b, (uint64_t)n);
            if (counted_in)
                *counted_in += (uint64_t)n;
            *active = 1;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            *src_readable = 0;
            pipe_give_back(b);
            return SPLICE_STOP;
        }
        if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
            b->splice = 0; /* a descriptor splice(2) cannot read: the buffer from now on */
            break;
        }
        *src_eof = 1; /* the end (0) or a failed read: body_pump tells which it was */
        break;
    }
    pipe_give_back(b);
    return SPLICE_BUFFERED;
}

/* Whether b may go through a pipe between these descriptors at all. */
static int splice_possible(const struct body *b, int src_fd, int dst_fd)
{
    return b->splice && dst_fd >= 0 && !b->z && !b->tee && !b->sink && !b->metered &&
           !tls_io_ssl(src_fd) && !tls_io_ssl(dst_fd);
}

int relay_pump(struct body *b, struct buf **src, int src_fd, uint8_t *src_readable, int *src_eof,
               int dst_fd, uint8_t *dst_writable, uint64_t *counted_in, int *active)
{
    int progress = GH_AGAIN;
    int can_splice = splice_possible(b, src_fd, dst_fd);
    int declined = 0; /* the pipe was refused with src empty: fill src now */

    for (;;) {
        int blocked = 0, rc;
        uint64_t before = b->moved;
        size_t had;

        if (!*src)
            *src = buf_get();
        if (can_splice) {
            int moved = 0;
            rc = pump_spliced(b, *src, src_fd, src_readable, src_eof, dst_fd, dst_writable,
                              counted_in, &moved);
            if (moved) {
                progress = GH_OK;
                *active = 1;
            }
            if (rc == SPLICE_ERROR)
                return GH_ERROR;
            if (rc == SPLICE_STOP)
                return progress;
            declined = buf_len(*src) == 0;
        }
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
        if (can_splice && !declined && buf_len(*src) == 0)
            continue; /* src emptied: the rest may go through the pipe */
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

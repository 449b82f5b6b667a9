/* buf.c — per-thread buffer free lists and the read/write helpers (buf.h). */
#include "buf.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SPARES_MAX 1024
#define BUF_BIG_SPARES_MAX 64

/* One free list per size. */
struct spares {
    struct buf *list;
    unsigned count, max;
};
static __thread struct spares small = {.max = BUF_SPARES_MAX}, big = {.max = BUF_BIG_SPARES_MAX};

static struct buf *take(struct spares *sp, uint32_t cap)
{
    struct buf *b = sp->list;

    if (b) {
        sp->list = b->next;
        sp->count--;
    } else {
        b = xmalloc(sizeof(*b));
        b->data = xmalloc(cap);
        b->cap = cap;
    }
    b->start = b->end = 0;
    b->next = NULL;
    return b;
}

struct buf *buf_get(void)
{
    return take(&small, BUF_SIZE);
}

struct buf *buf_get_big(void)
{
    return take(&big, BUF_BIG_SIZE);
}

struct buf *buf_get_cap(uint32_t cap)
{
    struct buf *b = xcalloc(1, sizeof(*b));

    b->data = xmalloc(cap);
    b->cap = cap;
    return b;
}

void buf_put(struct buf *b)
{
    if (!b)
        return;
    struct spares *sp = b->cap == BUF_SIZE ? &small : b->cap == BUF_BIG_SIZE ? &big : NULL;
    if (!sp || sp->count >= sp->max) {
        free(b->data);
        free(b);
        return;
    }
    b->next = sp->list;
    sp->list = b;
    sp->count++;
}

static void drain(struct spares *sp)
{
    while (sp->list) {
        struct buf *b = sp->list;
        sp->list = b->next;
        free(b->data);
        free(b);
    }
    sp->count = 0;
}

void buf_trim(void)
{
    drain(&small);
    drain(&big);
}

void buf_consume(struct buf *b, size_t n)
{
    b->start += (uint32_t)n;
    if (b->start >= b->end)
        b->start = b->end = 0;
}

void buf_compact(struct buf *b)
{
    if (b->start == 0)
        return;
    memmove(b->data, b->data + b->start, buf_len(b));
    b->end -= b->start;
    b->start = 0;
}

size_t buf_append(struct buf *b, const void *p, size_t n)
{
    if (buf_room(b) < n)
        buf_compact(b);
    n = GH_MIN(n, buf_room(b));
    memcpy(b->data + b->end, p, n);
    b->end += (uint32_t)n;
    return n;
}

ssize_t buf_read_fd(struct buf *b, int fd)
{
    ssize_t n;

    if (buf_room(b) < b->cap / 4)
        buf_compact(b);
    do
        n = io_read(fd, b->data + b->end, buf_room(b));
    while (n < 0 && errno == EINTR);
    if (n > 0)
        b->end += (uint32_t)n;
    else if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? GH_AGAIN : GH_ERROR;
    return n;
}

ssize_t buf_write_fd(struct buf *b, int fd)
{
    ssize_t n;

    if (buf_len(b) == 0)
        return 0;
    do
        n = io_write(fd, buf_head(b), buf_len(b));
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? GH_AGAIN : GH_ERROR;
    buf_consume(b, (size_t)n);
    return n;
}

/* relay.h — moving bytes from one socket to another through a buffer: the
 * step shared by proxied bodies and tunnels.  The caller owns the sockets,
 * the buffers and the readiness flags (edge-triggered: a flag stays set
 * until a call meets EAGAIN). */
#ifndef GH_RELAY_H
#define GH_RELAY_H

#include "body.h"
#include "buf.h"

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

/* Readiness flag values for a socket's reading side.  READY_IN: bytes may
 * wait.  READY_END: and the peer's end (FIN, an error) was reported too.
 * relay_fill() clears a READY_IN flag after a short read from a plain
 * socket, which drained it (epoll reports the next bytes as a new edge),
 * saving the read that would only meet EAGAIN; with READY_END it reads on
 * to see the end. */
#define READY_IN 1
#define READY_END 2

/* The readiness an epoll event with EPOLLIN (or an end) gives. */
static inline uint8_t relay_ready(uint32_t events)
{
    return (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ? READY_END : READY_IN;
}

/* Reads from fd into *bp (taken from the free list when NULL).  Returns the
 * bytes read (a short read from a plain socket clears a READY_IN
 * *readable), 0 at end of stream, GH_AGAIN (clears *readable; also when
 * the buffer is full) or GH_ERROR. */
ssize_t relay_fill(struct buf **bp, int fd, uint8_t *readable);

/* Room for more in a full *bp: its bytes move to a buffer of `cap` (taken
 * with buf_get_cap), unless it is not full or holds that much already. */
void relay_grow(struct buf **bp, uint32_t cap);
/* The same, reading at most max bytes (a metered direction's allowance):
 * a read that stops at max leaves *readable set, since more may wait. */
ssize_t relay_fill_max(struct buf **bp, int fd, uint8_t *readable, size_t max);

/* Returns an empty buffer to the free list (idle connections hold none). */
void relay_drop_empty(struct buf **bp);

/* Moves body b from src_fd (through *src) to dst_fd (-1 discards), reading
 * more as the destination takes it (a metered body no more than its
 * allowance, body.h).  Returns GH_DONE when the body is
 * complete, GH_OK after progress (it waits for readiness now), GH_AGAIN
 * when nothing moved, or GH_ERROR with b->error.  Bytes read are added to
 * *counted_in (may be NULL); *active is set when anything moved. */
int relay_pump(struct body *b, struct buf **src, int src_fd, uint8_t *src_readable, int *src_eof,
               int dst_fd, uint8_t *dst_writable, uint64_t *counted_in, int *active);
/* With b->splice set (body.h), relay_pump moves what body_splice_ready
 * allows from src_fd to dst_fd through a pipe with splice(2) instead of
 * through *src (the pipe is taken from, and given back to, spares kept
 * per thread), and the buffer for the rest (framing, a short chunk);
 * b->spliced counts the bytes that went through the pipe. */

#endif

/* relay.h — moving bytes from one socket to another through a buffer: the
 * step shared by proxied bodies and tunnels.  The caller owns the sockets,
 * the buffers and the readiness flags (edge-triggered: a flag stays set
 * until a call meets EAGAIN). */
#ifndef GH_RELAY_H
#define GH_RELAY_H

#include "body.h"
#include "buf.h"

#include <stdint.h>
#include <sys/types.h>

/* relay_pump() finished the whole body. */
#define RELAY_DONE 2

/* Reads from fd into *bp (taken from the free list when NULL).  Returns the
 * bytes read, 0 at end of stream, GH_AGAIN (clears *readable; also when the
 * buffer is full) or GH_ERROR. */
ssize_t relay_fill(struct buf **bp, int fd, uint8_t *readable);

/* Returns an empty buffer to the free list (idle connections hold none). */
void relay_drop_empty(struct buf **bp);

/* Moves body b from src_fd (through *src) to dst_fd (-1 discards), reading
 * more as the destination takes it.  Returns RELAY_DONE when the body is
 * complete, 1 after progress, 0 when it must wait for readiness, or -1 with
 * b->error.  Bytes read are added to *counted_in (may be NULL); *active is
 * set when anything moved. */
int relay_pump(struct body *b, struct buf **src, int src_fd, uint8_t *src_readable, int *src_eof,
               int dst_fd, uint8_t *dst_writable, uint64_t *counted_in, int *active);

#endif

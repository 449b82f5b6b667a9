/* buf.h — I/O buffers from per-thread free lists.
 *
 * A buffer is a window [start, end) of bytes inside `data`.  Each worker
 * thread keeps its own free list, so getting and putting a buffer takes no
 * lock and no malloc once the list is warm.  A buffer must be returned to
 * the free list of the thread that uses it; connections never change thread. */
#ifndef GH_BUF_H
#define GH_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BUF_SIZE 16384u
/* A big buffer carries a large response body: one read and one write move
 * up to this much, where 16 KB buffers take four of each (and four TCP
 * segments on loopback instead of one). */
#define BUF_BIG_SIZE 65536u

struct buf {
    char *data;        /* cap bytes */
    uint32_t start;    /* first unread byte */
    uint32_t end;      /* one past the last byte */
    uint32_t cap;      /* BUF_SIZE, or BUF_BIG_SIZE for a big buffer */
    struct buf *next;  /* free-list link */
};

/* Takes an empty buffer from this thread's free list (or allocates one). */
struct buf *buf_get(void);

/* The same for a big buffer, from a shorter list of its own.  Heads are
 * never read into one: their size limit is BUF_SIZE. */
struct buf *buf_get_big(void);

/* A buffer of another capacity, for a rare need (a tunnel's TLS
 * ClientHello of up to 64 KiB): allocated now, freed when put back. */
struct buf *buf_get_cap(uint32_t cap);

/* Returns a buffer (any size) to this thread's free list; NULL is allowed. Keeps at most
 * a bounded number of spares so a burst does not pin memory forever; a
 * buffer of another capacity than the two lists' is freed. */
void buf_put(struct buf *b);

/* Frees this thread's spare buffers (at thread exit). */
void buf_trim(void);

static inline size_t buf_len(const struct buf *b) { return b->end - b->start; }
static inline char *buf_head(const struct buf *b) { return b->data + b->start; }
static inline char *buf_tail(const struct buf *b) { return b->data + b->end; }
/* Free space after `end`. */
static inline size_t buf_room(const struct buf *b) { return b->cap - b->end; }

/* Marks n bytes at the front as consumed; an emptied buffer rewinds to 0. */
void buf_consume(struct buf *b, size_t n);

/* Moves the unread bytes to the front so that buf_room() is maximal. */
void buf_compact(struct buf *b);

/* Appends bytes; returns the number appended (less than n when full). */
size_t buf_append(struct buf *b, const void *p, size_t n);

/* Reads from fd into the free space (compacting first if needed).
 * Returns bytes read (> 0), 0 at end of stream, GH_AGAIN, or GH_ERROR
 * (errno set). Never called with a full buffer. */
ssize_t buf_read_fd(struct buf *b, int fd);

/* Writes unread bytes to fd and consumes what was written.
 * Returns bytes written (>= 0), GH_AGAIN if nothing could be written, or
 * GH_ERROR. */
ssize_t buf_write_fd(struct buf *b, int fd);

#endif

/* check_buf.c — tests of the I/O buffers (buf.h).
 *
 * The free list is per thread: a buffer put back comes out of the next get,
 * empty.  The window [start, end) moves with append and consume and rewinds
 * when emptied; compact slides the unread bytes to the front.  The fd helpers
 * run against a non-blocking AF_UNIX socketpair, so AGAIN, end of stream and
 * errors come from a real kernel, not from a stub. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "relay.h"
#include "util.h"

Suite *buf_suite(void);

/* A non-blocking stream socketpair; the test fails if there is none. */
static void pair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* Fills p with a pattern that differs at every offset within 251 bytes, so a
 * slip of the window shows up as a mismatch. */
static void pattern(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)((i + seed) % 251);
}

/* ---- the free list ---- */

START_TEST(test_get_is_empty)
{
    struct buf *b = buf_get();

    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(b->data);
    ck_assert_uint_eq(buf_len(b), 0);
    ck_assert_uint_eq(buf_room(b), BUF_SIZE);
    ck_assert_ptr_null(b->next);
    /* the whole of data is usable (ASan catches a short allocation) */
    memset(b->data, 'x', BUF_SIZE);
    buf_put(b);
}
END_TEST

START_TEST(test_put_then_get_reuses)
{
    struct buf *b = buf_get(), *again;

    ck_assert_uint_eq(buf_append(b, "left over", 9), 9);
    buf_consume(b, 4);
    ck_assert_uint_eq(buf_len(b), 5);
    buf_put(b);
    again = buf_get();
    ck_assert_ptr_eq(again, b);
    ck_assert_uint_eq(again->start, 0);
    ck_assert_uint_eq(again->end, 0);
    ck_assert_uint_eq(buf_len(again), 0);
    ck_assert_uint_eq(buf_room(again), BUF_SIZE);
    ck_assert_ptr_null(again->next);
    buf_put(again);
}
END_TEST

START_TEST(test_free_list_is_lifo)
{
    struct buf *a = buf_get(), *b = buf_get(), *x, *y;

    ck_assert_ptr_ne(a, b);
    ck_assert_ptr_ne(a->data, b->data);
    buf_put(a);
    buf_put(b);
    x = buf_get();
    y = buf_get();
    ck_assert_ptr_eq(x, b);
    ck_assert_ptr_eq(y, a);
    buf_put(x);
    buf_put(y);
    buf_put(NULL); /* allowed, and a no-op */
    x = buf_get();
    ck_assert_ptr_eq(x, y);
    buf_put(x);
    buf_trim();
}
END_TEST

/* More puts than the free list keeps: the extra buffers are freed (an ASan
 * build would report a double free or a leak), the rest still come back. */
START_TEST(test_many_puts)
{
    enum { N = 1100 };
    struct buf **bs = calloc(N, sizeof(*bs));

    ck_assert_ptr_nonnull(bs);
    for (int i = 0; i < N; i++)
        bs[i] = buf_get();
    for (int i = 0; i < N; i++)
        buf_put(bs[i]);
    for (int i = 0; i < N; i++) {
        bs[i] = buf_get();
        ck_assert_uint_eq(buf_len(bs[i]), 0);
        ck_assert_uint_eq(buf_room(bs[i]), BUF_SIZE);
    }
    for (int i = 0; i < N; i++)
        buf_put(bs[i]);
    buf_trim();
    free(bs);
}
END_TEST

/* ---- the window ---- */

START_TEST(test_append_consume)
{
    struct buf *b = buf_get();

    ck_assert_uint_eq(buf_append(b, "hello world", 11), 11);
    ck_assert_uint_eq(buf_len(b), 11);
    ck_assert_uint_eq(buf_room(b), BUF_SIZE - 11);
    ck_assert_ptr_eq(buf_head(b), b->data);
    ck_assert_ptr_eq(buf_tail(b), b->data + 11);
    ck_assert(memcmp(buf_head(b), "hello world", 11) == 0);

    buf_consume(b, 6);
    ck_assert_uint_eq(buf_len(b), 5);
    ck_assert(memcmp(buf_head(b), "world", 5) == 0);
    /* consuming does not give room back at the end */
    ck_assert_uint_eq(buf_room(b), BUF_SIZE - 11);

    ck_assert_uint_eq(buf_append(b, "!", 1), 1);
    ck_assert_uint_eq(buf_len(b), 6);
    ck_assert(memcmp(buf_head(b), "world!", 6) == 0);

    buf_consume(b, 0);
    ck_assert_uint_eq(buf_len(b), 6);
    ck_assert_uint_eq(b->start, 6);
    buf_put(b);
}
END_TEST

START_TEST(test_consume_all_rewinds)
{
    struct buf *b = buf_get();

    buf_append(b, "abcdef", 6);
    buf_consume(b, 2);
    buf_consume(b, 4);
    ck_assert_uint_eq(buf_len(b), 0);
    ck_assert_uint_eq(b->start, 0);
    ck_assert_uint_eq(b->end, 0);
    ck_assert_uint_eq(buf_room(b), BUF_SIZE);

    /* consuming more than is there also empties and rewinds */
    buf_append(b, "abc", 3);
    buf_consume(b, 1);
    buf_consume(b, 100);
    ck_assert_uint_eq(b->start, 0);
    ck_assert_uint_eq(b->end, 0);

    buf_append(b, "xyz", 3);
    ck_assert(memcmp(b->data, "xyz", 3) == 0);
    buf_put(b);
}
END_TEST

START_TEST(test_compact)
{
    struct buf *b = buf_get();

    buf_append(b, "0123456789", 10);
    buf_consume(b, 7);
    buf_compact(b);
    ck_assert_uint_eq(b->start, 0);
    ck_assert_uint_eq(b->end, 3);
    ck_assert_uint_eq(buf_room(b), BUF_SIZE - 3);
    ck_assert(memcmp(b->data, "789", 3) == 0);

    /* already at the front: nothing moves */
    buf_compact(b);
    ck_assert_uint_eq(b->end, 3);
    ck_assert(memcmp(b->data, "789", 3) == 0);

    /* empty */
    buf_consume(b, 3);
    buf_compact(b);
    ck_assert_uint_eq(buf_len(b), 0);
    ck_assert_uint_eq(buf_room(b), BUF_SIZE);
    buf_put(b);
}
END_TEST

/* Overlapping move: more unread bytes than the gap in front of them. */
START_TEST(test_compact_overlap)
{
    static char in[BUF_SIZE];
    struct buf *b = buf_get();

    pattern(in, sizeof(in), 3);
    ck_assert_uint_eq(buf_append(b, in, BUF_SIZE), BUF_SIZE);
    buf_consume(b, 10);
    buf_compact(b);
    ck_assert_uint_eq(buf_len(b), BUF_SIZE - 10);
    ck_assert_uint_eq(buf_room(b), 10);
    ck_assert(memcmp(buf_head(b), in + 10, BUF_SIZE - 10) == 0);
    buf_put(b);
}
END_TEST

START_TEST(test_append_past_capacity)
{
    static char in[BUF_SIZE + 100];
    struct buf *b = buf_get();

    pattern(in, sizeof(in), 0);
    ck_assert_uint_eq(buf_append(b, in, BUF_SIZE - 10), BUF_SIZE - 10);
    ck_assert_uint_eq(buf_room(b), 10);
    /* 100 offered, 10 fit */
    ck_assert_uint_eq(buf_append(b, in + BUF_SIZE - 10, 100), 10);
    ck_assert_uint_eq(buf_len(b), BUF_SIZE);
    ck_assert_uint_eq(buf_room(b), 0);
    ck_assert(memcmp(buf_head(b), in, BUF_SIZE) == 0);
    /* full: nothing more */
    ck_assert_uint_eq(buf_append(b, "x", 1), 0);
    ck_assert_uint_eq(buf_len(b), BUF_SIZE);
    buf_put(b);

    /* more than a whole buffer at once */
    b = buf_get();
    ck_assert_uint_eq(buf_append(b, in, sizeof(in)), BUF_SIZE);
    ck_assert(memcmp(buf_head(b), in, BUF_SIZE) == 0);
    buf_put(b);
}
END_TEST

/* An append that does not fit at the end compacts first, so the space freed
 * at the front is used and the order of bytes is kept. */
START_TEST(test_append_compacts)
{
    static char in[BUF_SIZE];
    struct buf *b = buf_get();

    pattern(in, sizeof(in), 7);
    ck_assert_uint_eq(buf_append(b, in, BUF_SIZE), BUF_SIZE);
    buf_consume(b, 100);
    ck_assert_uint_eq(buf_room(b), 0);
    ck_assert_uint_eq(buf_append(b, "ABCDEFGHIJ", 10), 10);
    ck_assert_uint_eq(b->start, 0);
    ck_assert_uint_eq(buf_len(b), BUF_SIZE - 90);
    ck_assert(memcmp(buf_head(b), in + 100, BUF_SIZE - 100) == 0);
    ck_assert(memcmp(buf_head(b) + BUF_SIZE - 100, "ABCDEFGHIJ", 10) == 0);
    /* 150 offered, the 90 left fit */
    ck_assert_uint_eq(buf_append(b, in, 150), 90);
    ck_assert_uint_eq(buf_len(b), BUF_SIZE);
    ck_assert(memcmp(buf_head(b) + BUF_SIZE - 90, in, 90) == 0);
    buf_put(b);
}
END_TEST

/* ---- the fd helpers ---- */

START_TEST(test_fd_round_trip)
{
    struct buf *out = buf_get(), *in = buf_get();
    int sv[2];

    pair(sv);
    buf_append(out, "GET / HTTP/1.1\r\n\r\n", 18);
    ck_assert_int_eq(buf_write_fd(out, sv[0]), 18);
    ck_assert_uint_eq(buf_len(out), 0);
    ck_assert_uint_eq(buf_room(out), BUF_SIZE);

    ck_assert_int_eq(buf_read_fd(in, sv[1]), 18);
    ck_assert_uint_eq(buf_len(in), 18);
    ck_assert(memcmp(buf_head(in), "GET / HTTP/1.1\r\n\r\n", 18) == 0);

    /* reads append after what is already there */
    buf_append(out, "next", 4);
    ck_assert_int_eq(buf_write_fd(out, sv[0]), 4);
    ck_assert_int_eq(buf_read_fd(in, sv[1]), 4);
    ck_assert_uint_eq(buf_len(in), 22);
    ck_assert(memcmp(buf_head(in) + 18, "next", 4) == 0);

    close(sv[0]);
    close(sv[1]);
    buf_put(out);
    buf_put(in);
}
END_TEST

START_TEST(test_read_again_then_eof)
{
    struct buf *b = buf_get();
    int sv[2];

    pair(sv);
    ck_assert_int_eq(buf_read_fd(b, sv[1]), GH_AGAIN);
    ck_assert_uint_eq(buf_len(b), 0);

    ck_assert_int_eq(write(sv[0], "xy", 2), 2);
    ck_assert_int_eq(shutdown(sv[0], SHUT_WR), 0);
    ck_assert_int_eq(buf_read_fd(b, sv[1]), 2);
    ck_assert_int_eq(buf_read_fd(b, sv[1]), 0);
    ck_assert_uint_eq(buf_len(b), 2);
    ck_assert(memcmp(buf_head(b), "xy", 2) == 0);
    /* end of stream stays end of stream */
    ck_assert_int_eq(buf_read_fd(b, sv[1]), 0);

    close(sv[0]);
    close(sv[1]);
    buf_put(b);
}
END_TEST

/* Reads use recv(2), which only sockets answer: a pipe is read with
 * read(2), its end and its emptiness told the same way. */
START_TEST(test_read_from_a_pipe)
{
    struct buf *b = buf_get();
    int p[2];

    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    ck_assert_int_eq(buf_read_fd(b, p[0]), GH_AGAIN);
    ck_assert_int_eq(write(p[1], "piped", 5), 5);
    ck_assert_int_eq(buf_read_fd(b, p[0]), 5);
    ck_assert(memcmp(buf_head(b), "piped", 5) == 0);
    close(p[1]);
    ck_assert_int_eq(buf_read_fd(b, p[0]), 0);
    close(p[0]);
    buf_put(b);
}
END_TEST

START_TEST(test_fd_errors)
{
    struct buf *b = buf_get();
    int sv[2];

    ck_assert_int_eq(buf_read_fd(b, -1), GH_ERROR);
    ck_assert_int_eq(errno, EBADF);

    /* nothing to write is not an error, even on a bad fd */
    ck_assert_int_eq(buf_write_fd(b, -1), 0);

    buf_append(b, "data", 4);
    ck_assert_int_eq(buf_write_fd(b, -1), GH_ERROR);
    ck_assert_uint_eq(buf_len(b), 4);

    /* a peer that has gone: EPIPE, and no SIGPIPE kills the test */
    pair(sv);
    close(sv[1]);
    ck_assert_int_eq(buf_write_fd(b, sv[0]), GH_ERROR);
    ck_assert_int_eq(errno, EPIPE);
    ck_assert_uint_eq(buf_len(b), 4);
    close(sv[0]);
    buf_put(b);
}
END_TEST

/* A peer that does not read: writes go partial, then AGAIN, and what was
 * not written stays in the buffer. */
START_TEST(test_write_again)
{
    static char in[BUF_SIZE];
    struct buf *b = buf_get();
    size_t sent = 0;
    ssize_t n = 0;
    int sv[2], rounds;

    pair(sv);
    pattern(in, sizeof(in), 1);
    for (rounds = 0; rounds < 100000; rounds++) {
        buf_append(b, in, buf_room(b) < sizeof(in) ? buf_room(b) : sizeof(in));
        size_t before = buf_len(b);
        n = buf_write_fd(b, sv[0]);
        if (n == GH_AGAIN) {
            ck_assert_uint_eq(buf_len(b), before);
            break;
        }
        ck_assert_int_gt(n, 0);
        ck_assert_uint_eq(buf_len(b), before - (size_t)n);
        sent += (size_t)n;
    }
    ck_assert_int_eq(n, GH_AGAIN);
    ck_assert_uint_gt(sent, 0);
    close(sv[0]);
    close(sv[1]);
    buf_put(b);
}
END_TEST

/* A read into a buffer with less than a quarter free compacts first, so it
 * may take more than the room left at the end. */
START_TEST(test_read_compacts)
{
    static char fill[BUF_SIZE], msg[1000];
    struct buf *b = buf_get();
    int sv[2];

    pair(sv);
    pattern(fill, sizeof(fill), 5);
    pattern(msg, sizeof(msg), 9);
    buf_append(b, fill, BUF_SIZE - 100);
    buf_consume(b, BUF_SIZE - 200); /* 100 unread bytes, 100 free at the end */
    ck_assert_int_eq(write(sv[0], msg, sizeof(msg)), (ssize_t)sizeof(msg));
    ck_assert_int_eq(buf_read_fd(b, sv[1]), (ssize_t)sizeof(msg));
    ck_assert_uint_eq(b->start, 0);
    ck_assert_uint_eq(buf_len(b), 100 + sizeof(msg));
    ck_assert(memcmp(buf_head(b), fill + BUF_SIZE - 200, 100) == 0);
    ck_assert(memcmp(buf_head(b) + 100, msg, sizeof(msg)) == 0);
    close(sv[0]);
    close(sv[1]);
    buf_put(b);
}
END_TEST

/* A read never takes more than the room: the rest waits in the socket. */
START_TEST(test_read_fills_to_capacity)
{
    static char msg[BUF_SIZE + 500];
    struct buf *b = buf_get();
    ssize_t n, got = 0;
    int sv[2];

    pair(sv);
    pattern(msg, sizeof(msg), 11);
    ck_assert_int_eq(write(sv[0], msg, sizeof(msg)), (ssize_t)sizeof(msg));
    while (buf_room(b) > 0 && (n = buf_read_fd(b, sv[1])) > 0)
        got += n;
    ck_assert_int_eq(got, BUF_SIZE);
    ck_assert_uint_eq(buf_len(b), BUF_SIZE);
    ck_assert(memcmp(buf_head(b), msg, BUF_SIZE) == 0);
    buf_consume(b, BUF_SIZE);
    ck_assert_int_eq(buf_read_fd(b, sv[1]), 500);
    ck_assert(memcmp(buf_head(b), msg + BUF_SIZE, 500) == 0);
    close(sv[0]);
    close(sv[1]);
    buf_put(b);
}
END_TEST

/* A relay through two buffers, the way a connection moves a body: 256 KiB in
 * odd-sized pieces arrive whole and in order. */
START_TEST(test_relay)
{
    enum { TOTAL = 256 * 1024 };
    char *src = malloc(TOTAL), *dst = malloc(TOTAL);
    struct buf *out = buf_get(), *in = buf_get();
    size_t queued = 0, received = 0, step = 1;
    int sv[2], spins = 0;

    ck_assert_ptr_nonnull(src);
    ck_assert_ptr_nonnull(dst);
    pair(sv);
    pattern(src, TOTAL, 13);
    while (received < TOTAL) {
        ck_assert_int_lt(++spins, 1000000);
        if (queued < TOTAL) {
            size_t want = GH_MIN(step, TOTAL - queued);
            queued += buf_append(out, src + queued, want);
            step = step * 7 % 5003 + 1;
        }
        ssize_t w = buf_write_fd(out, sv[0]);
        ck_assert(w >= 0 || w == GH_AGAIN);
        ssize_t r = buf_read_fd(in, sv[1]);
        ck_assert(r > 0 || r == GH_AGAIN);
        if (buf_len(in) > 0) {
            memcpy(dst + received, buf_head(in), buf_len(in));
            received += buf_len(in);
            buf_consume(in, buf_len(in));
        }
    }
    ck_assert_uint_eq(received, TOTAL);
    ck_assert(memcmp(src, dst, TOTAL) == 0);
    close(sv[0]);
    close(sv[1]);
    buf_put(out);
    buf_put(in);
    free(src);
    free(dst);
}
END_TEST

/* Big buffers have their own size and their own free list. */
START_TEST(test_big_buffers)
{
    static char blob[BUF_BIG_SIZE];
    struct buf *big = buf_get_big(), *small;

    ck_assert_uint_eq(big->cap, BUF_BIG_SIZE);
    ck_assert_uint_eq(buf_room(big), BUF_BIG_SIZE);
    pattern(blob, sizeof(blob), 17);
    ck_assert_uint_eq(buf_append(big, blob, sizeof(blob)), BUF_BIG_SIZE);
    ck_assert(memcmp(buf_head(big), blob, sizeof(blob)) == 0);
    buf_put(big);
    small = buf_get(); /* not the big one just put back */
    ck_assert_ptr_ne(small, big);
    ck_assert_uint_eq(small->cap, BUF_SIZE);
    ck_assert_ptr_eq(buf_get_big(), big); /* that one comes from its own list, empty */
    ck_assert_uint_eq(buf_len(big), 0);
    buf_put(small);
    buf_put(big);
}
END_TEST

/* relay_pump moves a long response body through one big buffer when the
 * body allows it (big_ok), and through small ones otherwise; the bytes
 * arrive whole either way. */
static void pump_body(int big_ok, uint32_t *cap_seen)
{
    enum { TOTAL = 200000 };
    char *src = malloc(TOTAL), *dst = malloc(TOTAL);
    struct buf *in = buf_get();
    struct body b;
    uint8_t readable = READY_IN, writable = 1;
    int up[2], down[2], eof = 0, active = 0, rc = 0, spins = 0;
    size_t sent = 0, got = 0;

    ck_assert_ptr_nonnull(src);
    ck_assert_ptr_nonnull(dst);
    pair(up);
    pair(down);
    pattern(src, TOTAL, 19);
    body_init(&b, HTTP_BODY_LENGTH, TOTAL, 0);
    b.big_ok = (unsigned)big_ok;
    *cap_seen = 0;
    while (rc != GH_DONE || got < TOTAL) {
        ck_assert_int_lt(++spins, 100000);
        if (sent < TOTAL) {
            ssize_t w = write(up[0], src + sent, GH_MIN((size_t)32768, TOTAL - sent));
            if (w > 0) {
                sent += (size_t)w;
                readable = READY_IN;
            }
        }
        if (rc != GH_DONE) {
            writable = 1;
            rc = relay_pump(&b, &in, up[1], &readable, &eof, down[0], &writable, NULL, &active);
            ck_assert_int_ne(rc, GH_ERROR);
            if (in && in->cap > *cap_seen)
                *cap_seen = in->cap;
        }
        ssize_t r = read(down[1], dst + got, TOTAL - got);
        if (r > 0)
            got += (size_t)r;
    }
    ck_assert_uint_eq(got, TOTAL);
    ck_assert(memcmp(src, dst, TOTAL) == 0);
    close(up[0]);
    close(up[1]);
    close(down[0]);
    close(down[1]);
    buf_put(in);
    free(src);
    free(dst);
}

START_TEST(test_relay_long_body_takes_big_buffer)
{
    uint32_t cap;

    pump_body(1, &cap);
    ck_assert_uint_eq(cap, BUF_BIG_SIZE);
    pump_body(0, &cap);
    ck_assert_uint_eq(cap, BUF_SIZE);
}
END_TEST

Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("free list");

    tcase_add_test(tc, test_get_is_empty);
    tcase_add_test(tc, test_put_then_get_reuses);
    tcase_add_test(tc, test_free_list_is_lifo);
    tcase_add_test(tc, test_many_puts);
    tcase_add_test(tc, test_big_buffers);
    suite_add_tcase(s, tc);

    tc = tcase_create("window");
    tcase_add_test(tc, test_append_consume);
    tcase_add_test(tc, test_consume_all_rewinds);
    tcase_add_test(tc, test_compact);
    tcase_add_test(tc, test_compact_overlap);
    tcase_add_test(tc, test_append_past_capacity);
    tcase_add_test(tc, test_append_compacts);
    suite_add_tcase(s, tc);

    tc = tcase_create("fd");
    tcase_add_test(tc, test_fd_round_trip);
    tcase_add_test(tc, test_read_again_then_eof);
    tcase_add_test(tc, test_read_from_a_pipe);
    tcase_add_test(tc, test_fd_errors);
    tcase_add_test(tc, test_write_again);
    tcase_add_test(tc, test_read_compacts);
    tcase_add_test(tc, test_read_fills_to_capacity);
    tcase_add_test(tc, test_relay);
    tcase_add_test(tc, test_relay_long_body_takes_big_buffer);
    suite_add_tcase(s, tc);
    return s;
}

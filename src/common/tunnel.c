/* tunnel.c — relaying a CONNECT or upgraded connection (see tunnel.h).
 *
 * Bytes that arrived before the tunnel opened (a TLS ClientHello sent
 * early, what followed a 101 head) are written from the session's buffers
 * first; after that each direction moves through a pipe with splice(2), so
 * tunnelled bytes never enter user space.  A direction with TLS at either
 * end (an upgrade on a TLS listener or to a TLS server) must pass through
 * OpenSSL instead, so it moves through the session's buffers.  Owns the two
 * pipes (kept in the exchange, closed with it). */
#include "tunnel.h"
#include "relay.h"
#include "session.h"
#include "sni.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

/* Asked of each pipe: 16 slots (the default) hold as little as 16
 * segments of loopback data, and each round trip through the loop moves
 * one pipeful.  Pages are taken only while bytes wait in the pipe; past
 * the per-user limit (pipe-user-pages-soft) the kernel refuses and the
 * default size is kept. */
#define PIPE_WANT (1u << 20)

/* Unsent bytes a tunnel's socket may hold before it stops reporting
 * writable (TCP_NOTSENT_LOWAT).  Without a mark, a socket takes pipefuls
 * into its send queue up to its whole buffer (megabytes); what the peer's
 * window does not admit yet is then sent later from the path that handles
 * the peer's ACKs, which is the reading client's CPU.  With the mark the
 * backlog waits in our pipe and each write leaves at once.  Measured in
 * the bench's CONNECT scenario (1 GB, medians of 7 interleaved runs):
 * 0.87x direct without, 0.92x with 64 KB, 0.96x with 128 KB, 0.93x with
 * 512 KB. */
#define TUNNEL_NOTSENT_LOWAT (128 * 1024)

enum { UP, DOWN }; /* client to upstream, upstream to client */

void tunnel_begin(struct session *s)
{
    struct exchange *ex = session_ex(s);

    for (int d = UP; d <= DOWN; d++) {
        if (pipe2(ex->tpipe[d], O_NONBLOCK | O_CLOEXEC) < 0) {
            session_close(s, "tunnel: no pipe (out of descriptors)");
            return;
        }
        ex->tpiped[d] = 0;
        int cap = fcntl(ex->tpipe[d][1], F_SETPIPE_SZ, (int)PIPE_WANT);
        if (cap < 0)
            cap = fcntl(ex->tpipe[d][1], F_GETPIPE_SZ);
        ex->tpipe_cap[d] = cap > 0 ? (uint32_t)cap : 65536u;
    }
    ex->up_shut = ex->down_shut = 0;
    int lowat = TUNNEL_NOTSENT_LOWAT;
    (void)setsockopt(s->io.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
    if (ex->up)
        (void)setsockopt(ex->up->io.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
    ex->inspect_hello = ex->decision == DECIDE_TUNNEL && ex->lst && ex->lst->fe->tunnel_hello;
    s->state = S_TUNNEL;
    s->last_io = loop_now(s->w->loop);
    loop_timer_at(s->w->loop, &s->timer, s->last_io + s->w->cfg->to.tunnel);
    session_drive(s);
}

/* One direction's ends, as pointers into the session and its upstream. */
struct way {
    struct buf **early;   /* bytes buffered before the tunnel */
    int src, dst;
    uint8_t *readable, *writable, *eof, *shut;
    uint64_t *count;
};

/* Ends a direction: the peer learns that no more bytes come. */
static void shut_way(struct way *w)
{
    SSL *ssl = tls_io_ssl(w->dst);

    if (ssl)
        SSL_shutdown(ssl); /* close_notify first, so the end is not a truncation */
    shutdown(w->dst, SHUT_WR);
    *w->shut = 1;
}

/* The same as move() through a buffer, for a direction with TLS. */
static int move_buffered(struct way *w)
{
    int moved = 0;
    ssize_t n;

    for (;;) {
        if (*w->early && buf_len(*w->early)) {
            if (!*w->writable)
                break;
            n = buf_write_fd(*w->early, w->dst);
            if (n == GH_AGAIN) {
                *w->writable = 0;
                break;
            }
            if (n < 0)
                return -1;
            *w->count += (uint64_t)n;
            moved = 1;
            continue;
        }
        if (!*w->readable || *w->eof)
            break;
        n = relay_fill(w->early, w->src, w->readable);
        if (n == GH_AGAIN)
            break;
        if (n <= 0)
            *w->eof = 1;
        else
            moved = 1;
    }
    if (*w->eof && !(*w->early && buf_len(*w->early)))
        shut_way(w);
    return moved;
}

/* Moves what one direction can.  Returns 1 if bytes moved, 0 if not, -1 on
 * a write error (the caller closes). */
static int move(struct exchange *ex, int d, struct way *w)
{
    int moved = 0;
    ssize_t n;

    if (*w->shut)
        return 0;
    if (tls_io_ssl(w->src) || tls_io_ssl(w->dst))
        return move_buffered(w);
    while (*w->early && buf_len(*w->early)) {
        if (!*w->writable)
            return moved;
        n = buf_write_fd(*w->early, w->dst);
        if (n == GH_AGAIN) {
            *w->writable = 0;
            return moved;
        }
        if (n < 0)
            return -1;
        *w->count += (uint64_t)n;
        moved = 1;
    }
    for (;;) {
        if (ex->tpiped[d] && *w->writable) {
            n = splice(ex->tpipe[d][0], NULL, w->dst, NULL, ex->tpiped[d],
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                ex->tpiped[d] -= (uint32_t)n;
                *w->count += (uint64_t)n;
                moved = 1;
                continue;
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return -1;
            if (n < 0 && errno == EAGAIN)
                *w->writable = 0;
        }
        if (ex->tpiped[d] < ex->tpipe_cap[d] && *w->readable && !*w->eof) {
            n = splice(w->src, NULL, ex->tpipe[d][1], NULL, ex->tpipe_cap[d] - ex->tpiped[d],
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                ex->tpiped[d] += (uint32_t)n;
                moved = 1;
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EINTR))
                *w->eof = 1; /* the sender finished (or failed): pass the end on */
            else if (errno == EAGAIN && ex->tpiped[d] == 0)
                *w->readable = 0;
            /* EAGAIN with bytes in the pipe may mean the pipe is out of
             * slots (small segments fill its 16 pages before 64 KiB), not
             * that the socket is empty: keep the flag, so the next time
             * the pipe drains the socket is read again instead of waiting
             * for an edge that already passed */
        }
        break;
    }
    if (*w->eof && ex->tpiped[d] == 0)
        shut_way(w);
    return moved;
}

/* Reads the client's first bytes until the TLS ClientHello's server name
 * is known and asks the front-end.  Returns 1 when decided (and allowed), 0
 * to wait for more bytes, -1 when the session was closed. */
static int inspect_hello(struct session *s)
{
    struct exchange *ex = session_ex(s);
    const char *name = NULL;
    size_t len = 0;
    int rc;

    for (;;) {
        rc = s->in ? sni_parse((const unsigned char *)buf_head(s->in), buf_len(s->in), &name, &len)
                   : SNI_PARTIAL;
        if (rc != SNI_PARTIAL || (s->in && buf_room(s->in) == 0) || s->peer_eof)
            break;
        if (!s->readable)
            return 0;
        ssize_t n = relay_fill(&s->in, s->io.fd, &s->readable);
        if (n == GH_AGAIN)
            return 0;
        if (n <= 0)
            s->peer_eof = 1;
        else
            ex->bytes_in += (uint64_t)n;
    }
    ex->inspect_hello = 0;
    if (ex->lst->fe->tunnel_hello(ex, rc == SNI_FOUND ? name : NULL, rc == SNI_FOUND ? len : 0) < 0) {
        session_close(s, ex->why ? ex->why : "tunnel refused by the filter");
        return -1;
    }
    return 1;
}

void tunnel_drive(struct session *s)
{
    struct exchange *ex = session_ex(s);
    struct upconn *u = ex->up;
    struct way up = {&s->in, s->io.fd, u->io.fd, &s->readable, &u->writable, &s->peer_eof,
                     &ex->up_shut, &ex->bytes_in};
    struct way down = {&u->in, u->io.fd, s->io.fd, &u->readable, &s->writable, &u->eof,
                       &ex->down_shut, &ex->bytes_out};
    uint64_t out_before;
    int rc, r1, r2;

    /* whatever answer head is pending goes first */
    rc = session_flush(s);
    if (rc < 0)
        return;
    if (ex->inspect_hello) {
        int ok = inspect_hello(s);
        if (ok <= 0)
            return;
    }
    out_before = ex->bytes_out;
    r1 = move(ex, UP, &up);
    if (r1 < 0) {
        session_close(s, "tunnel: cannot write to the upstream");
        return;
    }
    r2 = rc == 1 ? move(ex, DOWN, &down) : 0;
    if (r2 < 0) {
        session_close(s, "tunnel: cannot write to the client");
        return;
    }
    ex->resp_body_bytes += ex->bytes_out - out_before;
    if (r1 || r2)
        s->last_io = loop_now(s->w->loop);
    if (ex->up_shut && ex->down_shut)
        session_close(s, NULL);
}

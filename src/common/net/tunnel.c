/* tunnel.c — relaying a CONNECT or upgraded connection (see tunnel.h).
 *
 * Bytes that arrived before the tunnel opened (a TLS ClientHello sent
 * early, what followed a 101 head) are written from the connections'
 * buffers first; after that each direction moves through a pipe with
 * splice(2), so tunnelled bytes never enter user space.  A direction with
 * TLS at either end (an upgrade on a TLS listener or to a TLS server) must
 * pass through OpenSSL instead, so it moves through the buffers.  Owns the
 * two pipes (kept in the exchange, closed with it).
 *
 * A CONNECT tunnel whose front-end judges first bytes waits, relaying
 * nothing, until the client's ClientHello is read whole (sni.c; up to
 * SNI_READ_MAX bytes, in a buffer grown for it only past 16 KB), or it is
 * plain that it will not be: the bytes are not TLS, the server spoke
 * first, the client ended, or timeouts.client_header passed.  A refusal
 * answers TLS with one fatal alert; the driver then shuts the connection
 * so that it is not lost. */
#include "tunnel.h"
#include "exchange_int.h"
#include "meter.h"
#include "relay.h"
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

/* Opens the tunnel: a pipe per direction, the send-queue marks, the wait
 * for a CONNECT's first bytes when the front-end judges them, and the
 * client's 200 for a CONNECT (a 101 has had its own head).  Returns GH_OK,
 * or GH_ERROR without pipes. */
static int open_tunnel(struct exchange *ex)
{
    static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    int lowat = TUNNEL_NOTSENT_LOWAT;

    if (client_raw(ex, &ex->craw) != GH_OK)
        return exchange_fail(ex, 0, "tunnel: the client's protocol gives no byte stream");
    if (ex->decision == DECIDE_TUNNEL && ex->status != 101) {
        if (!ex->intercept_tls) /* an intercepted client asked nothing of us */
            buf_append(client_out(ex), established, sizeof(established) - 1);
        ex->status = 200;
    }
    for (int d = UP; d <= DOWN; d++) {
        if (pipe2(ex->tpipe[d], O_NONBLOCK | O_CLOEXEC) < 0)
            return exchange_fail(ex, 0, "tunnel: no pipe (out of descriptors)");
        ex->tpiped[d] = 0;
        int cap = fcntl(ex->tpipe[d][1], F_SETPIPE_SZ, (int)PIPE_WANT);
        if (cap < 0)
            cap = fcntl(ex->tpipe[d][1], F_GETPIPE_SZ);
        ex->tpipe_cap[d] = cap > 0 ? (uint32_t)cap : 65536u;
    }
    ex->up_shut = ex->down_shut = 0;
    (void)setsockopt(ex->craw.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
    if (ex->up)
        (void)setsockopt(ex->up->io.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
    /* an intercepted hello was judged before the tunnel was decided */
    ex->inspect_hello = ex->decision == DECIDE_TUNNEL && ex->lst && ex->lst->fe->tunnel_hello &&
                        !ex->intercept_tls;
    sni_init(&ex->hello);
    ex->hello_until = ex->last_io + ex->conn->w->cfg->to.client_header;
    return GH_OK;
}

/* One direction's ends, as pointers into the client connection and the
 * upstream one. */
struct way {
    struct buf **early; /* bytes buffered before the tunnel */
    int src, dst;
    uint8_t *readable, *writable, *eof, *shut;
    uint64_t *count;
    uint64_t *allow;    /* a metered way's allowance (meter.h), NULL: none */
};

/* What a way may read now. */
static size_t allowed(const struct way *w, size_t want)
{
    return w->allow && *w->allow < want ? (size_t)*w->allow : want;
}

static void took(struct way *w, ssize_t n)
{
    if (w->allow && n > 0)
        *w->allow -= (uint64_t)n;
}

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
        if (!*w->readable || *w->eof || !allowed(w, 1))
            break;
        n = relay_fill_max(w->early, w->src, w->readable, allowed(w, SIZE_MAX));
        took(w, n);
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
    relay_drop_empty(w->early); /* splice from here on: no buffer needed (a hello's may be 68 KB) */
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
        if (ex->tpiped[d] < ex->tpipe_cap[d] && *w->readable && !*w->eof &&
            allowed(w, 1)) {
            n = splice(w->src, NULL, ex->tpipe[d][1], NULL,
                       allowed(w, ex->tpipe_cap[d] - ex->tpiped[d]),
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                took(w, n);
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

/* The alert a refused TLS client gets (sni_alert).  Returns GH_OK or
 * GH_AGAIN (it went, or waits in the buffer), GH_ERROR. */
static int send_alert(struct exchange *ex, enum sni_result r)
{
    unsigned char alert[SNI_ALERT_LEN];

    sni_alert(alert, r, 0);
    buf_append(client_out(ex), alert, sizeof(alert));
    return client_flush(ex);
}

/* Asks the front-end about the tunnel's first bytes (ex->hello).  Returns
 * GH_OK when the tunnel may go on, GH_DONE when it was refused
 * (ex->refused; the alert is on its way), GH_ERROR. */
static int judge(struct exchange *ex)
{
    struct buf *in = *ex->craw.in;

    ex->inspect_hello = 0;
    if (ex->lst->fe->tunnel_hello(ex, &ex->hello) >= 0) {
        ex->rearm = 1; /* from the hello's deadline to the idle timeout */
        return GH_OK;
    }
    if (in) /* read, and never relayed (which is where tunnels count) */
        ex->bytes_in += buf_len(in);
    if (!ex->why)
        ex->why = "tunnel refused by the front-end";
    if (ex->hello.tls && send_alert(ex, ex->hello.result) == GH_ERROR)
        return GH_ERROR;
    ex->refused = 1;
    return GH_DONE;
}

/* Whether the upstream spoke before the client did: a TLS client never
 * waits for the server, so such a tunnel is not TLS (SSH, SMTP and FTP
 * servers speak first).  Its bytes stay in u->in for the client.  Returns
 * 1 or 0, or GH_ERROR when the upstream ended first. */
static int upstream_first(struct exchange *ex)
{
    struct upconn *u = ex->up;
    ssize_t n;

    if (u->in && buf_len(u->in))
        return 1;
    if (!u->readable || u->eof)
        return 0;
    n = relay_fill(&u->in, u->io.fd, &u->readable);
    if (n > 0)
        return 1;
    if (n == GH_AGAIN)
        return 0;
    return exchange_fail(ex, 0, "tunnel: the upstream closed before the client spoke");
}

/* Reads the client's first bytes until they can be judged, then asks the
 * front-end.  Returns GH_OK when the tunnel may go on, GH_AGAIN to wait
 * for more bytes, GH_DONE when it is over (refused, or the client left
 * without a word), GH_ERROR. */
static int inspect_hello(struct exchange *ex)
{
    struct client_raw *cr = &ex->craw;
    struct sni_hello *h = &ex->hello;

    for (;;) {
        struct buf *in = *cr->in;
        size_t have = in ? buf_len(in) : 0;
        ssize_t n;

        if (have && sni_parse(h, (const unsigned char *)buf_head(in), have) != SNI_PARTIAL)
            return judge(ex);
        if (!have) {
            int first = upstream_first(ex);
            if (first == GH_ERROR)
                return GH_ERROR;
            if (first) {
                h->result = SNI_NOT_TLS;
                h->why = "tunnel is not TLS (the server spoke first)";
                return judge(ex);
            }
        }
        if (*cr->eof) {
            if (!have) /* said nothing and left: nothing to judge */
                return GH_DONE;
            h->result = SNI_MALFORMED;
            h->why = "ClientHello cut short";
            return judge(ex);
        }
        if (!*cr->readable)
            return GH_AGAIN;
        relay_grow(cr->in, SNI_READ_MAX);
        n = relay_fill(cr->in, cr->fd, cr->readable);
        if (n == GH_AGAIN)
            return GH_AGAIN;
        if (n <= 0)
            *cr->eof = 1;
        else
            ex->last_io = loop_now(ex->conn->w->loop);
    }
}

int tunnel_hello_expired(struct exchange *ex)
{
    int rc;

    ex->hello.result = SNI_TIMEOUT;
    ex->hello.why = "no ClientHello in time";
    rc = judge(ex);
    return rc == GH_OK ? tunnel_step(ex) : rc;
}

int tunnel_step(struct exchange *ex)
{
    const struct client_raw *cr = &ex->craw;
    struct upconn *u = ex->up;
    struct way up, down;
    uint64_t out_before, grant[2] = {0, 0}, left[2] = {0, 0};
    int rc, r1, r2;

    if (ex->tpipe[UP][0] < 0 && open_tunnel(ex) == GH_ERROR)
        return GH_ERROR;
    /* whatever answer head is pending goes first */
    rc = client_flush(ex);
    if (rc == GH_ERROR)
        return rc;
    if (ex->inspect_hello) {
        int ok = inspect_hello(ex);
        if (ok != GH_OK)
            return ok;
    }
    up = (struct way){cr->in,       cr->fd,  u->io.fd,     cr->readable,
                      &u->writable, cr->eof, &ex->up_shut, &ex->bytes_in, NULL};
    down = (struct way){&u->in,       u->io.fd, cr->fd,         &u->readable,
                        cr->writable, &u->eof,  &ex->down_shut, &ex->bytes_out, NULL};
    if (ex->meter) { /* a bandwidth limit, a quota: each way reads its allowance */
        if (meter_grant(ex, METER_UP, &grant[UP]) == GH_ERROR ||
            meter_grant(ex, METER_DOWN, &grant[DOWN]) == GH_ERROR)
            return GH_ERROR;
        left[UP] = grant[UP];
        left[DOWN] = grant[DOWN];
        up.allow = &left[UP];
        down.allow = &left[DOWN];
    }
    out_before = ex->bytes_out;
    r1 = move(ex, UP, &up);
    r2 = r1 >= 0 && rc == GH_OK ? move(ex, DOWN, &down) : 0;
    if (ex->meter) {
        meter_charge(ex, METER_UP, grant[UP], left[UP]);
        meter_charge(ex, METER_DOWN, grant[DOWN], left[DOWN]);
    }
    if (r1 < 0)
        return exchange_fail(ex, 0, "tunnel: cannot write to the upstream");
    if (r2 < 0)
        return exchange_fail(ex, 0, "tunnel: cannot write to the client");
    ex->resp_body_bytes += ex->bytes_out - out_before;
    if (r1 || r2)
        ex->last_io = loop_now(ex->conn->w->loop);
    if (ex->up_shut && ex->down_shut)
        return GH_DONE;
    return GH_AGAIN;
}

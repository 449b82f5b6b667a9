/* conn.c — client connections (see conn.h): accepting (the PROXY header,
 * the TLS handshake), the timer of the connection's own states, lingering,
 * closing and draining.  Owns the connection, its socket and its two
 * buffers; what is read and written between exchanges' starts and ends is
 * its protocol's (h1.c, h2.c: chosen here, by ALPN, or by h1.c when a
 * plain connection opens with HTTP/2's preface), and the exchanges are
 * theirs.  A connection's
 * state changes only in this file: in conn_drive() for what it does alone
 * (accepting), and in the transitions its protocol asks for (conn_busy,
 * conn_idle, conn_linger, conn_shut, conn_close). */
#include "conn.h"
#include "intercept.h"
#include "connlimit.h"
#include "h1.h"
#include "h2.h"
#include "log.h"
#include "proxyproto.h"
#include "relay.h"
#include "observe.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINGER_MS 2000

/* ---- the connection's own deadlines ---- */

static uint64_t deadline(const struct conn *c)
{
    const struct timeouts *t = &c->w->cfg->to;

    switch (c->state) {
    case C_ACCEPT: return c->head_start + c->accept_ms;
    case C_IDLE:
        if (c->proto->deadline)
            return c->proto->deadline(c);
        if (c->in && buf_len(c->in))
            return c->head_start + t->client_header;
        return c->last_io + (c->nexchanges ? t->keepalive : t->client_header);
    case C_LINGER: return c->last_io + LINGER_MS;
    case C_BUSY: /* the exchanges' own deadlines, and the protocol's */
        return c->proto->deadline ? c->proto->deadline(c) : UINT64_MAX;
    default: return UINT64_MAX;
    }
}

void conn_arm(struct conn *c)
{
    if (c->state != C_CLOSED && (c->state != C_BUSY || c->proto->deadline))
        loop_timer_at(c->w->loop, &c->timer, deadline(c));
}

/* The timer stays armed while the connection is busy (it is re-armed, not
 * taken out and put back, at each exchange); it finds no deadline then. */
static void on_timer(struct timer *t)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));
    uint64_t d = deadline(c);

    if (d == UINT64_MAX)
        return;
    if (d > loop_now(c->w->loop)) {
        loop_timer_at(c->w->loop, t, d);
        return;
    }
    switch (c->state) {
    case C_ACCEPT:
        log_info("listener %s: %s: %s", c->lname, c->peer_text,
                 c->await_proxy ? "no PROXY protocol header in time" : "TLS handshake timed out");
        conn_close(c, NULL);
        return;
    case C_IDLE:
        if ((c->in && buf_len(c->in)) || c->proto->deadline)
            c->proto->expired(c); /* part of a request came, not all of it */
        else
            conn_close(c, NULL);
        return;
    case C_BUSY:
        c->proto->expired(c); /* a protocol's own deadline */
        return;
    default: conn_close(c, NULL); return;
    }
}

/* ---- the protocol's calls ---- */

void conn_busy(struct conn *c)
{
    c->state = C_BUSY;
}

void conn_idle(struct conn *c)
{
    c->state = C_IDLE;
    c->nexchanges++;
    c->last_io = loop_now(c->w->loop);
    relay_drop_empty(&c->out);
    if (c->in && buf_len(c->in))
        c->head_start = c->last_io; /* a pipelined request is already here */
    else                            /* idle: the buffer goes back until bytes come */
        relay_drop_empty(&c->in);
    conn_arm(c);
    conn_drive(c);
}

void conn_linger(struct conn *c, int notify, int discard)
{
    c->state = C_LINGER;
    c->notify = (uint8_t)notify;
    c->discard = (uint8_t)discard;
    c->last_io = loop_now(c->w->loop);
    conn_arm(c);
    conn_drive(c);
}

void conn_shut(struct conn *c)
{
    SSL *ssl = tls_io_ssl(c->io.fd);

    if (c->state == C_CLOSED)
        return;
    if (ssl)
        SSL_shutdown(ssl);
    shutdown(c->io.fd, SHUT_WR);
    c->state = C_LINGER;
    c->notify = 0;
    c->discard = 2; /* half-closed already: read the rest away */
    c->last_io = loop_now(c->w->loop);
    conn_arm(c);
    conn_drive(c);
}

void conn_speak(struct conn *c, const struct proto *p)
{
    c->proto = p;
    if (p->start)
        p->start(c);
    c->redrive = 1;
}

const struct sockaddr_storage *conn_local(struct conn *c)
{
    if (!c->has_local) {
        socklen_t len = sizeof(c->local);
        if (getsockname(c->io.fd, (struct sockaddr *)&c->local, &len) < 0)
            return NULL;
        c->has_local = 1;
    }
    return &c->local;
}

/* ---- life and death ---- */

static void free_conn(void *arg)
{
    struct conn *c = arg;

    buf_put(c->in);
    buf_put(c->out);
    free(c->auth_user);
    free(c);
}

void conn_close(struct conn *c, const char *why)
{
    struct worker *w = c->w;

    if (c->state == C_CLOSED)
        return;
    c->state = C_CLOSED;
    c->proto->abort(c, why);
    loop_timer_cancel(w->loop, &c->timer);
    loop_del(w->loop, &c->io);
    tls_io_detach(c->io.fd);
    close(c->io.fd);
    c->io.fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub_explicit(&w->stats.active, 1, memory_order_relaxed);
    if (c->counted)
        connlimit_release(c->count_key);
    observe_conn(c->lname, -1);
    loop_defer(w->loop, free_conn, c);
    if (w->draining && !w->conns)
        loop_stop(w->loop);
}

static void set_peer(struct conn *c, const struct sockaddr_storage *peer)
{
    c->peer = *peer;
    if (peer->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, c->peer_text,
                  sizeof(c->peer_text));
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, c->peer_text,
                  sizeof(c->peer_text));
}

/* ---- C_ACCEPT ---- */

/* A listener with PROXY headers counts its connection limits once the
 * header has named the client (worker.c counts the others at accept).
 * Returns GH_OK, or GH_ERROR when the client is over its limit. */
static int admit_announced(struct conn *c)
{
    const struct listener_conf *l = config_listener(c->w->cfg, c->lname);
    uint64_t key;

    if (!l || !l->conns)
        return GH_OK;
    if (!connlimit_admit(l->conns, &c->peer, &key))
        return GH_ERROR; /* closed, as at accept; counted, not logged (a flood would fill the log) */
    conn_counted(c, key);
    return GH_OK;
}

/* Reads a PROXY header without taking a byte past it (what follows may be
 * a TLS ClientHello for OpenSSL to read).  Returns GH_OK when done,
 * GH_AGAIN to wait, GH_ERROR when none came (logged). */
static int read_proxy_header(struct conn *c)
{
    char hdr[PROXYPROTO_MAX];
    struct sockaddr_storage src, dst;
    int local = 0, rc;
    ssize_t n = recv(c->io.fd, hdr, sizeof(hdr), MSG_PEEK);

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return GH_AGAIN;
    rc = n > 0 ? proxyproto_parse(hdr, (size_t)n, &src, &dst, &local) : -1;
    if (rc == 0 && n < (ssize_t)sizeof(hdr))
        return GH_AGAIN; /* the rest of the header is on its way */
    if (rc <= 0 || recv(c->io.fd, hdr, (size_t)rc, 0) != rc) {
        log_warn("listener %s: %s sent no valid PROXY protocol header; closed", c->lname,
                 c->peer_text);
        return GH_ERROR;
    }
    if (!local) {
        set_peer(c, &src);
        c->local = dst;
        c->has_local = 1;
    }
    c->await_proxy = 0;
    return admit_announced(c);
}

/* A new connection: its PROXY header, then its TLS handshake, as the
 * listener asks.  Returns GH_OK when it may read requests, GH_AGAIN to
 * wait, GH_ERROR when it is to close (logged). */
static int accept_step(struct conn *c)
{
    int want_write, rc;
    const char *why = NULL;

    if (c->await_proxy && (rc = read_proxy_header(c)) != GH_OK)
        return rc;
    if (c->tls) {
        rc = tls_io_handshake(c->io.fd, &want_write, &why);
        if (rc == GH_ERROR)
            log_info("listener %s: %s: %s", c->lname, c->peer_text, why);
        if (rc != GH_AGAIN)
            observe_tls(c->lname, rc == GH_OK, rc == GH_OK && SSL_session_reused(tls_io_ssl(c->io.fd)));
        if (rc != GH_OK)
            return rc; /* GH_AGAIN: the socket's next event drives it on */
    }
    return GH_OK;
}

/* ---- C_LINGER ---- */

/* Returns GH_AGAIN to wait, GH_DONE when the connection may close. */
static int linger_step(struct conn *c)
{
    char junk[4096];

    if (c->notify) {
        int rc = tls_io_close_notify(c->io.fd);
        if (rc == GH_AGAIN) { /* OpenSSL holds it until the socket takes it */
            c->writable = 0;
            return GH_AGAIN;
        }
        c->notify = 0;
        if (rc == GH_ERROR || !c->discard)
            return GH_DONE;
        c->last_io = loop_now(c->w->loop);
        conn_arm(c);
    }
    if (c->discard == 1) {
        shutdown(c->io.fd, SHUT_WR);
        c->discard = 2;
    }
    for (;;) {
        ssize_t n = io_read(c->io.fd, junk, sizeof(junk));
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return GH_AGAIN;
        return GH_DONE;
    }
}

/* ---- the connection's driver ---- */

void conn_drive(struct conn *c)
{
    int again;

    if (c->driving) {
        c->redrive = 1;
        return;
    }
    c->driving = 1;
    do {
        enum conn_state was = c->state;
        c->redrive = 0;
        switch (c->state) {
        case C_ACCEPT:
            switch (accept_step(c)) {
            case GH_OK:
                c->state = C_IDLE;
                c->readable = 1; /* OpenSSL may hold the first request already */
                c->last_io = loop_now(c->w->loop);
                if (c->tls && tls_io_alpn_is(c->io.fd, "h2"))
                    conn_speak(c, &h2_proto);
                conn_arm(c);
                break;
            case GH_ERROR: conn_close(c, NULL); break;
            }
            break;
        case C_IDLE:
        case C_BUSY: c->proto->drive(c); break;
        case C_LINGER:
            if (linger_step(c) == GH_DONE)
                conn_close(c, NULL);
            break;
        case C_CLOSED: break;
        }
        /* Into C_BUSY, the exchange that began has run as far as it goes. */
        again = c->redrive || (c->state != was && c->state != C_BUSY && c->state != C_CLOSED);
    } while (again);
    c->driving = 0;
}

static void on_client(struct ioh *h, uint32_t events)
{
    struct conn *c = (struct conn *)h;

    if (c->state == C_CLOSED)
        return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->readable = GH_MAX(c->readable, relay_ready(events));
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        c->writable = 1;
    conn_drive(c);
}

/* A transparent listener's connection: where the client meant to go.  A
 * client that connected to the listener itself (no redirect: the original
 * destination is the socket's own address, on a port the listener binds)
 * was not intercepted, and is served as by any forward listener.  Returns
 * -1 for our own connection out, sent back here: each hop would make
 * another. */
static int note_intercepted(struct conn *c, const struct listener_conf *l)
{
    const struct sockaddr_storage *local = conn_local(c);

    if (!local || intercept_original_dst(c->io.fd, &c->orig_dst) < 0)
        return 0;
    c->intercepted = 1;
    if (!intercept_same(&c->orig_dst, local))
        return intercept_is_own(&c->peer, &c->orig_dst) ? -1 : 0;
    for (unsigned i = 0; i < l->naddrs; i++)
        if (intercept_port(&l->addrs[i].ss) == intercept_port(local))
            c->intercepted = 0;
    return 0;
}

void conn_counted(struct conn *c, uint64_t key)
{
    c->counted = 1;
    c->count_key = key;
}

struct conn *conn_new(struct worker *w, int fd, const struct sockaddr_storage *peer,
                      const char *lname)
{
    struct conn *c = xcalloc(1, sizeof(*c));
    const struct listener_conf *l = config_listener(w->cfg, lname);
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->io.fd = fd;
    c->io.on_event = on_client;
    c->w = w;
    c->proto = &h1_proto;
    set_peer(c, peer);
    c->await_proxy = l && l->proxy_protocol;
    if (l && l->transparent && note_intercepted(c, l) < 0) {
        log_error("forwarding loop: listener %s was sent its own connection from %s back (exempt "
                  "gatehouse's user from the redirect: meta skuid, etc/examples/gateway.nft)",
                  lname, c->peer_text);
        close(fd);
        free(c);
        return NULL;
    }
    gh_fmt(c->lname, sizeof(c->lname), "%s", lname);
    if (l && l->tls) {
        SSL *ssl = tls_server_ssl(l->tls);
        if (!ssl) {
            log_error("listener %s: cannot start TLS for %s", lname, c->peer_text);
            close(fd);
            free(c);
            return NULL;
        }
        tls_io_attach(fd, ssl);
        c->tls = 1;
    }
    c->timer.on_fire = on_timer;
    c->state = c->await_proxy || c->tls ? C_ACCEPT : C_IDLE;
    c->last_io = c->head_start = loop_now(w->loop);
    c->accept_ms = c->tls ? tls_server_handshake_timeout(l->tls) : w->cfg->to.client_header;
    if (loop_add(w->loop, &c->io) < 0) {
        log_error("cannot watch client socket: %s", strerror(errno));
        tls_io_detach(fd);
        close(fd);
        free(c);
        return NULL;
    }
    c->next = w->conns;
    if (c->next)
        c->next->prev = c;
    w->conns = c;
    atomic_fetch_add_explicit(&w->stats.active, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->stats.accepted, 1, memory_order_relaxed);
    observe_conn(lname, +1);
    conn_arm(c);
    return c;
}

void conn_drain_all(struct worker *w, int now)
{
    struct conn *c = w->conns, *next;

    for (; c; c = next) {
        next = c->next;
        if (now)
            conn_close(c, "shutdown");
        else if (c->proto->drain && c->state != C_LINGER && c->state != C_ACCEPT)
            c->proto->drain(c);
        else if (c->state == C_IDLE && !(c->in && buf_len(c->in)))
            conn_close(c, NULL);
    }
    if (!w->conns)
        loop_stop(w->loop);
}

void conn_reload_all(struct worker *w)
{
    for (struct conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (c->proto->drain && (c->state == C_IDLE || c->state == C_BUSY))
            c->proto->drain(c);
    }
}

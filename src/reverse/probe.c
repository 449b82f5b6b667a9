/* probe.c — one health probe (see probe.h): a non-blocking connect, for HTTP
 * a GET with "Connection: close", and the head of the answer.
 * Owns its socket, its one timer, the request text and a bounded read
 * buffer.  It knows nothing of pools or servers, nor which status is good. */
#include "probe.h"
#include "h2_upstream.h"
#include "http1.h"
#include "loop.h"
#include "tls.h"
#include "util.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Bytes of the answer kept: a longer head is judged by its status line. */
#define PROBE_HEAD 4096

static const char E_REFUSED[] = "connection refused";
static const char E_UNREACH[] = "unreachable";
static const char E_NOADDR[] = "no local address";
static const char E_TIMEOUT[] = "timed out";
static const char E_RESET[] = "connection reset";
static const char E_CLOSED[] = "closed";
static const char E_INVALID[] = "invalid response";
static const char E_BADREQ[] = "bad request target";
static const char E_SOCKET[] = "socket error";
static const char E_TLS[] = "TLS handshake failed";
static const char E_NOH2[] = "no h2 by ALPN";

enum probe_state {
    P_CONNECTING, /* connect() in progress: waiting for writability */
    P_HANDSHAKE,  /* HTTP over TLS: the handshake (a no-op step in plain text) */
    P_SENDING,    /* HTTP: the request is (partly) unwritten */
    P_READING,    /* HTTP: waiting for a complete head, or PROBE_HEAD bytes of one */
};

/* What a step of drive() says. */
enum step { STEP_WAIT, STEP_NEXT, STEP_OVER };

/* Owned by whoever started it, until its callback runs or it is cancelled. */
struct probe {
    struct ioh io;      /* first: the loop hands back &io; fd -1 when none */
    struct timer timer; /* the whole probe's deadline; 0 ms for `deferred` */
    struct loop *loop;
    enum probe_state state;
    probe_done cb;
    void *arg;
    const char *deferred; /* a failure found in probe_start, reported by the timer */
    int http;
    struct tls_client *tls; /* HTTP over TLS: the settings; ssl once connected */
    SSL *ssl;
    char *host;                 /* for SNI and name verification */
    uint8_t readable, writable; /* edge-triggered readiness not used up yet */
    int status;                 /* the outcome, once a step says STEP_OVER */
    const char *error;
    int h2; /* HTTP/2: the session, its one stream, its frames to write */
    struct h2up *s;
    struct h2up_stream *st;
    struct buf *wire, *ans;
    char *req; /* the request: req_len bytes, req_off of them sent */
    size_t req_len, req_off;
    size_t len;               /* bytes in buf */
    char buf[PROBE_HEAD + 2]; /* + 2: room to end a lone status line with CRLF */
};

/* The parser's limits: a full buffer is "partial", never "too long". */
static const struct http1_limits limits = {
    .max_line = PROBE_HEAD,
    .max_head = PROBE_HEAD + 3,
    .max_fields = HTTP1_MAX_HEADERS,
    .allow_underscore = 1,
};

static const char *errno_reason(int e)
{
    switch (e) {
    case ECONNREFUSED: return E_REFUSED;
    case ETIMEDOUT: return E_TIMEOUT;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EHOSTDOWN: return E_UNREACH;
    case EADDRNOTAVAIL: return E_NOADDR;
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE: return E_RESET;
    default: return E_SOCKET;
    }
}

int probe_error_before_connect(const char *error)
{
    return error == E_REFUSED || error == E_UNREACH || error == E_NOADDR;
}

void probe_cancel(struct probe *p)
{
    if (!p)
        return;
    loop_timer_cancel(p->loop, &p->timer);
    SSL_free(p->ssl);
    free(p->host);
    if (p->io.fd >= 0) {
        loop_del(p->loop, &p->io);
        close(p->io.fd);
    }
    h2up_free(p->s);
    buf_put(p->wire);
    buf_put(p->ans);
    free(p->req);
    free(p);
}

/* Reports the outcome and frees the probe: p is gone afterwards, and the
 * callback may start another probe. */
static void finish(struct probe *p, int status, const char *error)
{
    probe_done cb = p->cb;
    void *arg = p->arg;

    probe_cancel(p);
    cb(arg, status, error);
}

static enum step over(struct probe *p, int status, const char *error)
{
    p->status = status;
    p->error = error;
    return STEP_OVER;
}

static enum step check_connect(struct probe *p)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (!p->writable)
        return STEP_WAIT;
    if (getsockopt(p->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err)
        return over(p, 0, errno_reason(err));
    return p->http ? STEP_NEXT : over(p, 0, NULL);
}

/* What an SSL call that returned r <= 0 means for the probe. */
static enum step tls_wait(struct probe *p, int r, const char *fail)
{
    switch (SSL_get_error(p->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        p->readable = 0;
        return STEP_WAIT;
    case SSL_ERROR_WANT_WRITE:
        p->writable = 0;
        return STEP_WAIT;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        return over(p, 0, E_CLOSED);
    default:
        ERR_clear_error();
        return over(p, 0, fail);
    }
}

static enum step handshake(struct probe *p)
{
    int r;

    if (!p->tls)
        return STEP_NEXT;
    if (!p->ssl) {
        p->ssl = tls_client_ssl(p->tls, p->host);
        if (!p->ssl || !SSL_set_fd(p->ssl, p->io.fd))
            return over(p, 0, E_TLS);
    }
    if (p->h2)
        SSL_set_alpn_protos(p->ssl, (const unsigned char *)"\x02h2", 3);
    r = SSL_do_handshake(p->ssl);
    if (r != 1)
        return tls_wait(p, r, E_TLS);
    if (p->h2) {
        const unsigned char *alpn = NULL;
        unsigned alen = 0;
        SSL_get0_alpn_selected(p->ssl, &alpn, &alen);
        if (alen != 2 || memcmp(alpn, "h2", 2) != 0)
            return over(p, 0, E_NOH2);
    }
    return STEP_NEXT;
}

/* ---- HTTP/2 ---- */

static enum step judge(struct probe *p);

/* Writes n bytes of d: how many went, or -1 with *s saying what next. */
static ssize_t out_raw(struct probe *p, const char *d, size_t n, enum step *s)
{
    ssize_t w;

    if (p->ssl) {
        int r = SSL_write(p->ssl, d, (int)n);
        if (r <= 0) {
            *s = tls_wait(p, r, E_RESET);
            return -1;
        }
        return r;
    }
    if (!p->writable) {
        *s = STEP_WAIT;
        return -1;
    }
    w = send(p->io.fd, d, n, MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        p->writable = 0;
        *s = STEP_WAIT;
        return -1;
    }
    if (w < 0 && errno != EINTR) {
        *s = over(p, 0, errno_reason(errno));
        return -1;
    }
    return w < 0 ? 0 : w;
}

/* The session's frames out: STEP_NEXT once none is left, STEP_WAIT. */
static enum step h2_flush(struct probe *p)
{
    enum step s;

    for (;;) {
        if (!buf_len(p->wire)) {
            buf_compact(p->wire);
            if (h2up_send(p->s, p->wire) == GH_ERROR)
                return over(p, 0, E_INVALID);
            if (!buf_len(p->wire))
                return STEP_NEXT;
        }
        ssize_t n = out_raw(p, buf_head(p->wire), buf_len(p->wire), &s);
        if (n < 0)
            return s;
        buf_consume(p->wire, (size_t)n);
    }
}

static enum step h2_send_request(struct probe *p)
{
    const char *why = NULL;

    if (!p->s) {
        p->s = h2up_new(1, p->tls != NULL, &limits);
        p->st = p->s ? h2up_open(p->s, p) : NULL;
        p->wire = buf_get();
        p->ans = buf_get();
        if (!p->st || !p->wire || !p->ans ||
            h2up_stream_write(p->st, p->req, p->req_len, &why) != (long)p->req_len)
            return over(p, 0, E_BADREQ);
    }
    return h2_flush(p);
}

/* The answer's frames: its head, in HTTP/1.1, is judged as usual. */
static enum step h2_take(struct probe *p, const char *d, size_t n)
{
    size_t k;

    if (h2up_recv(p->s, d, n) != GH_OK)
        return over(p, 0, E_INVALID);
    if (h2_flush(p) == STEP_OVER) /* SETTINGS and PING acknowledged */
        return STEP_OVER;
    buf_compact(p->ans);
    h2up_stream_read(p->st, p->ans);
    k = GH_MIN(buf_len(p->ans), PROBE_HEAD - p->len);
    memcpy(p->buf + p->len, buf_head(p->ans), k);
    p->len += k;
    buf_consume(p->ans, buf_len(p->ans)); /* the body is not wanted */
    if (k) {
        enum step s = judge(p);
        if (s != STEP_WAIT)
            return s;
    }
    if (p->st->closed || h2up_error(p->s))
        return over(p, 0, E_CLOSED);
    return STEP_WAIT;
}

static enum step send_request(struct probe *p)
{
    if (p->h2)
        return h2_send_request(p);
    while (p->req_off < p->req_len) {
        ssize_t n;

        if (p->ssl) {
            int r = SSL_write(p->ssl, p->req + p->req_off, (int)(p->req_len - p->req_off));
            if (r <= 0)
                return tls_wait(p, r, E_RESET);
            p->req_off += (size_t)r;
            continue;
        }
        if (!p->writable)
            return STEP_WAIT;
        n = send(p->io.fd, p->req + p->req_off, p->req_len - p->req_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return over(p, 0, errno_reason(errno));
            p->writable = 0;
            return STEP_WAIT;
        }
        p->req_off += (size_t)n;
    }
    return STEP_NEXT;
}

/* The head is malformed or outgrew the buffer: judge its status line alone,
 * ended here with the empty line the parser wants. */
static enum step status_line_only(struct probe *p, struct http_head *h)
{
    const char *eol = memmem(p->buf, p->len, "\r\n", 2);
    size_t n;

    if (!eol)
        return over(p, 0, E_INVALID);
    n = (size_t)(eol - p->buf) + 2;
    memcpy(p->buf + n, "\r\n", 2); /* n <= len, so n + 2 fits */
    if (http1_parse_response(p->buf, n + 2, &limits, 0, h) <= 0)
        return over(p, 0, E_INVALID);
    return over(p, h->status, NULL);
}

/* Looks at what has arrived: an interim (1xx) head is skipped, a final one
 * gives the status. */
static enum step judge(struct probe *p)
{
    struct http_head h;

    for (;;) {
        int r = http1_parse_response(p->buf, p->len, &limits, 0, &h);

        if (r > 0 && h.status < 200 && h.status != 101) {
            memmove(p->buf, p->buf + r, p->len - (size_t)r);
            p->len -= (size_t)r;
            continue;
        }
        if (r > 0)
            return over(p, h.status, NULL);
        if (r == HTTP1_PARTIAL && p->len < PROBE_HEAD)
            return STEP_WAIT;
        return status_line_only(p, &h);
    }
}

static enum step read_answer(struct probe *p)
{
    char frames[4096];

    for (;;) {
        ssize_t n;
        enum step s;
        char *to = p->h2 ? frames : p->buf + p->len;
        size_t cap = p->h2 ? sizeof(frames) : PROBE_HEAD - p->len;

        if (p->ssl) {
            int r = SSL_read(p->ssl, to, (int)cap);
            if (r <= 0)
                return tls_wait(p, r, E_RESET);
            n = r;
        } else if (!p->readable) {
            return STEP_WAIT;
        } else {
            n = recv(p->io.fd, to, cap, 0);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return over(p, 0, errno_reason(errno));
            p->readable = 0;
            return STEP_WAIT;
        }
        if (n == 0)
            return over(p, 0, E_CLOSED);
        if (p->h2) {
            s = h2_take(p, frames, (size_t)n);
            if (s != STEP_WAIT)
                return s;
            continue;
        }
        p->len += (size_t)n;
        s = judge(p); /* never leaves the buffer full and waiting */
        if (s != STEP_WAIT)
            return s;
    }
}

/* Moves the probe on as far as readiness allows; may finish (free) it. */
static void drive(struct probe *p)
{
    for (;;) {
        enum step s;

        switch (p->state) {
        case P_CONNECTING: s = check_connect(p); break;
        case P_HANDSHAKE: s = handshake(p); break;
        case P_SENDING: s = send_request(p); break;
        case P_READING: s = read_answer(p); break;
        default: s = over(p, 0, E_SOCKET); break;
        }
        if (s == STEP_WAIT)
            return;
        if (s == STEP_OVER) {
            finish(p, p->status, p->error);
            return;
        }
        p->state++; /* the states run in order */
    }
}

static void on_io(struct ioh *h, uint32_t events)
{
    struct probe *p = (struct probe *)h;

    /* errors and hang-ups wake both directions: the call then says what */
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        p->readable = 1;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        p->writable = 1;
    drive(p);
}

static void on_timer(struct timer *t)
{
    struct probe *p = (struct probe *)((char *)t - offsetof(struct probe, timer));

    finish(p, 0, p->deferred ? p->deferred : E_TIMEOUT);
}

/* A failure found before the loop had a chance to run: reported from it. */
static struct probe *defer_failure(struct probe *p, const char *why)
{
    if (p->io.fd >= 0) {
        close(p->io.fd);
        p->io.fd = -1;
    }
    p->deferred = why;
    loop_timer_set(p->loop, &p->timer, 0);
    return p;
}

/* The request text, or NULL when path or host would break its framing. */
static char *build_request(const struct probe_req *req, size_t *len)
{
    static const char fmt[] = "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gatehouse-health\r\n"
                              "Connection: close\r\n\r\n";
    size_t cap;
    char *r;

    if (!req->path || !req->host || req->path[0] == '\0' || strpbrk(req->path, " \t\r\n") ||
        strpbrk(req->host, "\r\n"))
        return NULL;
    cap = sizeof(fmt) + strlen(req->path) + strlen(req->host);
    r = xmalloc(cap);
    *len = gh_fmt(r, cap, fmt, req->path, req->host);
    return r;
}

struct probe *probe_start(struct loop *l, const struct probe_req *req, probe_done cb, void *arg)
{
    struct probe *p = xcalloc(1, sizeof(*p));
    const struct sockaddr_storage *ss = req->addr;
    socklen_t alen =
        ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int one = 1;

    p->io.fd = -1;
    p->io.on_event = on_io;
    p->timer.on_fire = on_timer;
    p->loop = l;
    p->cb = cb;
    p->arg = arg;
    p->http = req->http;
    p->h2 = req->http && req->h2;
    p->tls = req->http ? req->tls : NULL;
    p->host = req->host ? xstrdup(req->host) : NULL;
    if (p->http && !(p->req = build_request(req, &p->req_len)))
        return defer_failure(p, E_BADREQ);
    p->io.fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->io.fd < 0)
        return defer_failure(p, errno_reason(errno));
    setsockopt(p->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(p->io.fd, (const struct sockaddr *)ss, alen) < 0 && errno != EINPROGRESS)
        return defer_failure(p, errno_reason(errno));
    /* registered edge-triggered: a connect already done still reports EPOLLOUT */
    if (loop_add(l, &p->io) < 0)
        return defer_failure(p, errno_reason(errno));
    loop_timer_set(l, &p->timer, req->timeout_ms);
    return p;
}

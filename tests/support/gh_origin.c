/*
 * gh-origin — a small, real HTTP/1.1 origin server for Gatehouse integration
 * tests.  It plays the web server behind the proxy.
 *
 *   gh-origin -p PORT [-n NAME] [-a ADDR] [-i IDLE_MS]
 *
 * -p PORT     port to listen on; 0 picks an ephemeral port.
 * -n NAME     name reported in X-Origin and in bodies (default "origin").
 * -a ADDR     numeric address to bind (default 127.0.0.1; "::1" or "[::1]"
 *             for IPv6).
 * -i IDLE_MS  optional: close a connection that sends nothing for IDLE_MS
 *             milliseconds (default 0 = never).
 *
 * After listen() it prints "PORT <n>\n" to stdout and flushes it, then serves
 * until SIGTERM or SIGINT (exit status 0).  Blocking sockets, one detached
 * thread per connection.
 *
 * Every response carries X-Origin, X-Conn-Id (a process-wide sequential
 * connection id starting at 1) and X-Conn-Requests (1-based request count on
 * that connection).  One line per request goes to stderr:
 *   origin NAME conn=<id> req=<n> <METHOD> <target>
 *
 * Request bodies (Content-Length or chunked) are always read in full, by
 * streaming, before the response is sent.  Malformed requests get a 400 (or
 * 501 for an unsupported transfer coding) with a one-line reason in the body,
 * and the connection is closed.  HTTP/1.1 requests without Host get a 400.
 * A request carrying both Content-Length and Transfer-Encoding gets a 400; a
 * head over 60 KiB gets a 431.  "Expect: 100-continue" is answered with an
 * interim 100 response when no body bytes have arrived yet.  Absolute-form
 * targets (http://host/path) are routed by their path.  Every response has
 * Server: gh-origin, and Connection: close whenever the origin will close.
 *
 * Endpoints (path only; the query string is ignored):
 *   /hello         200 "hello from NAME\n"
 *   /bytes/N       200, N pattern bytes (byte[i] = 'a' + i % 26), Content-Length
 *   /chunked/N     200, N pattern bytes, chunked (chunk sizes cycle 1,7,4096,65536)
 *   /close/N       200, N pattern bytes, no framing, delimited by close
 *   /truncate/N    200, Content-Length N, only N/2 bytes, then close
 *   /slow/MS       sleep MS milliseconds, then 200 "slow done\n"
 *   /sink          200 "bytes=<count> sum=<u64 sum of body bytes>\n"
 *   /headers       200, body = the exact request head as received
 *   /upgrade       101 to an echo protocol when asked with Upgrade: echo
 *   /ws            a WebSocket (RFC 6455) echo: 101 with Sec-WebSocket-Accept,
 *                  then every text or binary frame is sent back unmasked
 *   /redirect      302 to http://127.0.0.1:PORT/landed (its own address)
 *   /status/CODE   CODE (200..599) with body "status CODE\n" (none for 204/304)
 *   /obj/...       a cacheable object shaped by its query (see serve_obj)
 *   /rv/...        a cacheable object shaped by the request's X-Rv-* fields,
 *                  for revalidation tests (see serve_rv)
 *   /interim, /hold, /release, /inflight   see the block at the end of the file
 *   /types?t=A&t=B 200 "types\n" with one Content-Type field per t (%XX decoded)
 *   anything else  404 "not found\n"
 * HEAD gets the same head as GET and no body.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define RD_CAP (64 * 1024)      /* per-connection read buffer */
#define MAX_HEAD (60 * 1024)    /* largest request head accepted */
#define MAX_LINE 8192           /* largest chunk-size or trailer line */
#define PAT_LEN (64 * 1024)     /* bytes per send when streaming the pattern */
#define MAX_N 1000000000000000ULL /* upper bound for /bytes/N and friends */

static const char *g_name = "origin";
static int g_port;
static long g_idle_ms;
static atomic_uint_fast64_t g_next_conn_id = 1;
static char g_pattern[PAT_LEN + 26];

struct conn {
    int fd;
    uint64_t id;
    uint64_t nreq;
    size_t start, end;          /* unread bytes are buf[start, end) */
    char buf[RD_CAP];
};

/* What we learnt from one request head. */
struct request {
    char *head;                 /* copy of the raw head, NUL-terminated */
    size_t head_len;
    char method[32];
    char target[4096];
    int http_minor;             /* 0 or 1 (HTTP/1.x) */
    int keep_alive;
    int has_cl;
    uint64_t content_length;
    int chunked;
    int expect_continue;
    const char *error;          /* set when the head is bad */
    int error_status;
};

/* ---------------------------------------------------------------- I/O ---- */

static int send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read more bytes into the connection buffer.  1 = got bytes, 0 = EOF,
 * -1 = error or timeout.  Compacts the buffer first. */
static int conn_fill(struct conn *c)
{
    if (c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end == sizeof(c->buf))
        return -1;
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->end, sizeof(c->buf) - c->end, 0);
        if (n > 0) {
            c->end += (size_t)n;
            return 1;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        return -1;
    }
}

/* Shut down our side, drain what the peer still sends for a short while (so
 * unread input does not turn our FIN into a RST that destroys the data we
 * sent), then close. */
static void close_gracefully(int fd)
{
    struct timeval tv = { 0, 200 * 1000 };
    char tmp[16384];
    size_t total = 0;
    struct timespec t0, now;

    shutdown(fd, SHUT_WR);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n == 0)
            break;
        if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        if (n > 0)
            total += (size_t)n;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= 2 || total > 64u * 1024 * 1024)
            break;
    }
    close(fd);
}

/* Find the end of the request head in buf[0, len): index just past the blank
 * line, or 0 if not complete.  Accepts CRLF and bare LF line endings. */
static size_t find_head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Read one line (ending in LF) of at most MAX_LINE bytes into out (without
 * the line ending, NUL-terminated).  0 ok, -1 on EOF/error/too long. */
static int read_line(struct conn *c, char *out, size_t outsz)
{
    for (;;) {
        char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
        if (nl) {
            size_t n = (size_t)(nl - (c->buf + c->start));
            size_t keep = n;
            if (keep > 0 && c->buf[c->start + keep - 1] == '\r')
                keep--;
            if (keep >= outsz)
                return -1;
            memcpy(out, c->buf + c->start, keep);
            out[keep] = '\0';
            c->start += n + 1;
            return 0;
        }
        if (c->end - c->start >= MAX_LINE)
            return -1;
        if (conn_fill(c) <= 0)
            return -1;
    }
}

/* ------------------------------------------------------------ parsing ---- */

static int token_in_list(const char *list, size_t len, const char *token)
{
    size_t tl = strlen(token);
    size_t i = 0;
    while (i < len) {
        while (i < len && (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
            i++;
        size_t s = i;
        while (i < len && list[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (list[e - 1] == ' ' || list[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(list + s, token, tl) == 0)
            return 1;
    }
    return 0;
}

static void bad(struct request *rq, int status, const char *why)
{
    if (!rq->error) {
        rq->error = why;
        rq->error_status = status;
    }
}

/* Parse rq->head.  Sets rq->error on malformed input. */
static void parse_head(struct request *rq)
{
    char *p = rq->head;
    char *end = rq->head + rq->head_len;
    int conn_close = 0, conn_keep = 0, has_host = 0, has_te = 0;
    char *te_val = NULL;
    size_t te_len = 0;
    int te_count = 0;

    rq->http_minor = 1;

    /* request line */
    char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) {
        bad(rq, 400, "no request line");
        return;
    }
    char *le = eol;
    if (le > p && le[-1] == '\r')
        le--;
    char *sp1 = memchr(p, ' ', (size_t)(le - p));
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(le - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1) {
        bad(rq, 400, "malformed request line");
        return;
    }
    if ((size_t)(sp1 - p) >= sizeof(rq->method) ||
        (size_t)(sp2 - sp1 - 1) >= sizeof(rq->target)) {
        bad(rq, 400, "method or target too long");
        return;
    }
    memcpy(rq->method, p, (size_t)(sp1 - p));
    rq->method[sp1 - p] = '\0';
    memcpy(rq->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    rq->target[sp2 - sp1 - 1] = '\0';
    for (char *q = p; q < le; q++) {
        if ((unsigned char)*q < 0x20 || *q == 0x7f) {
            bad(rq, 400, "control character in request line");
            return;
        }
    }
    size_t vlen = (size_t)(le - sp2 - 1);
    if (vlen == 8 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0)
        rq->http_minor = 1;
    else if (vlen == 8 && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0)
        rq->http_minor = 0;
    else {
        bad(rq, 400, "unsupported HTTP version");
        return;
    }

    /* header fields */
    p = eol + 1;
    while (p < end) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        le = eol;
        if (le > p && le[-1] == '\r')
            le--;
        if (le == p)
            break;              /* blank line: end of head */
        if (*p == ' ' || *p == '\t') {
            bad(rq, 400, "obsolete line folding");
            return;
        }
        char *colon = memchr(p, ':', (size_t)(le - p));
        if (!colon || colon == p) {
            bad(rq, 400, "malformed header field");
            return;
        }
        for (char *q = p; q < colon; q++) {
            if (*q == ' ' || *q == '\t' || (unsigned char)*q < 0x21) {
                bad(rq, 400, "whitespace in header field name");
                return;
            }
        }
        size_t nlen = (size_t)(colon - p);
        char *v = colon + 1;
        char *ve = le;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vl = (size_t)(ve - v);

        if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
            uint64_t n = 0;
            if (vl == 0 || vl > 18) {
                bad(rq, 400, "bad Content-Length");
                return;
            }
            for (size_t i = 0; i < vl; i++) {
                if (!isdigit((unsigned char)v[i])) {
                    bad(rq, 400, "bad Content-Length");
                    return;
                }
                n = n * 10 + (uint64_t)(v[i] - '0');
            }
            if (rq->has_cl && rq->content_length != n) {
                bad(rq, 400, "conflicting Content-Length");
                return;
            }
            rq->has_cl = 1;
            rq->content_length = n;
        } else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
            has_te = 1;
            te_count++;
            te_val = v;
            te_len = vl;
        } else if (nlen == 10 && strncasecmp(p, "Connection", 10) == 0) {
            if (token_in_list(v, vl, "close"))
                conn_close = 1;
            if (token_in_list(v, vl, "keep-alive"))
                conn_keep = 1;
        } else if (nlen == 4 && strncasecmp(p, "Host", 4) == 0) {
            has_host = 1;
        } else if (nlen == 6 && strncasecmp(p, "Expect", 6) == 0) {
            if (vl == 12 && strncasecmp(v, "100-continue", 12) == 0)
                rq->expect_continue = 1;
        }
        p = eol + 1;
    }

    if (rq->http_minor == 1)
        rq->keep_alive = !conn_close;
    else
        rq->keep_alive = conn_keep && !conn_close;

    if (has_te) {
        if (rq->has_cl) {
            bad(rq, 400, "both Content-Length and Transfer-Encoding");
            return;
        }
        if (te_count != 1 || te_len != 7 || strncasecmp(te_val, "chunked", 7) != 0) {
            bad(rq, 501, "unsupported Transfer-Encoding");
            return;
        }
        rq->chunked = 1;
    }
    if (rq->http_minor == 1 && !has_host)
        bad(rq, 400, "missing Host");
}

/* Parse a decimal number that makes up all of s.  -1 if not. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t n = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        if (n > (max - (uint64_t)(*s - '0')) / 10)
            return -1;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    *out = n;
    return 0;
}

/* ------------------------------------------------------ request bodies ---- */

static void account(const char *p, size_t n, uint64_t *count, uint64_t *sum)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += u[i];
    *sum += s;
    *count += n;
}

/* Consume exactly n body bytes.  0 ok, -1 on EOF/error. */
static int consume_bytes(struct conn *c, uint64_t n, uint64_t *count, uint64_t *sum)
{
    while (n > 0) {
        if (c->start == c->end) {
            c->start = c->end = 0;
            if (conn_fill(c) <= 0)
                return -1;
        }
        size_t avail = c->end - c->start;
        size_t take = avail < n ? avail : (size_t)n;
        account(c->buf + c->start, take, count, sum);
        c->start += take;
        n -= take;
    }
    return 0;
}

/* Read a chunked body, decoding it; trailers are skipped.  0 ok, -1 bad. */
static int consume_chunked(struct conn *c, uint64_t *count, uint64_t *sum)
{
    char line[MAX_LINE];
    for (;;) {
        if (read_line(c, line, sizeof(line)) < 0)
            return -1;
        uint64_t size = 0;
        int digits = 0;
        char *q = line;
        for (; isxdigit((unsigned char)*q); q++) {
            if (++digits > 15)
                return -1;
            int d = isdigit((unsigned char)*q) ? *q - '0'
                                               : (tolower((unsigned char)*q) - 'a' + 10);
            size = size * 16 + (uint64_t)d;
        }
        if (digits == 0)
            return -1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q != '\0' && *q != ';')
            return -1;
        if (size == 0)
            break;
        if (consume_bytes(c, size, count, sum) < 0)
            return -1;
        if (read_line(c, line, sizeof(line)) < 0 || line[0] != '\0')
            return -1;
    }
    /* trailer section: skip fields up to the blank line */
    for (int i = 0; i < 1000; i++) {
        if (read_line(c, line, sizeof(line)) < 0)
            return -1;
        if (line[0] == '\0')
            return 0;
    }
    return -1;
}

/* ------------------------------------------------------------ responses ---- */

static const char *reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

enum framing { FR_LENGTH, FR_CHUNKED, FR_CLOSE, FR_NONE };

/* Format the response head into out.  Returns its length. */
static size_t format_head(char *out, size_t outsz, const struct conn *c, int code,
                          const char *ctype, enum framing fr, uint64_t clen, int keep_alive,
                          int http_minor)
{
    int n = snprintf(out, outsz,
                     "HTTP/1.1 %d %s\r\n"
                     "Server: gh-origin\r\n"
                     "X-Origin: %s\r\n"
                     "X-Conn-Id: %" PRIu64 "\r\n"
                     "X-Conn-Requests: %" PRIu64 "\r\n",
                     code, reason(code), g_name, c->id, c->nreq);
    size_t len = (size_t)n;
    if (len < outsz && ctype)
        len += (size_t)snprintf(out + len, outsz - len, "Content-Type: %s\r\n", ctype);
    if (len < outsz && fr == FR_LENGTH)
        len += (size_t)snprintf(out + len, outsz - len, "Content-Length: %" PRIu64 "\r\n", clen);
    if (len < outsz && fr == FR_CHUNKED)
        len += (size_t)snprintf(out + len, outsz - len, "Transfer-Encoding: chunked\r\n");
    if (len < outsz) {
        const char *ch = NULL;
        if (!keep_alive)
            ch = "Connection: close\r\n";
        else if (http_minor == 0)
            ch = "Connection: keep-alive\r\n";
        if (ch)
            len += (size_t)snprintf(out + len, outsz - len, "%s", ch);
    }
    if (len < outsz)
        len += (size_t)snprintf(out + len, outsz - len, "\r\n");
    return len < outsz ? len : outsz - 1;
}

/* Send a complete response with an in-memory body (may be NULL/0). */
static int send_simple(const struct conn *c, const struct request *rq, int code,
                       const char *body, size_t body_len, int is_head, int keep_alive)
{
    char head[1024];
    int nobody = (code == 204 || code == 304);
    size_t hl = format_head(head, sizeof(head), c, code, nobody ? NULL : "text/plain",
                            nobody ? FR_NONE : FR_LENGTH, body_len, keep_alive, rq->http_minor);
    if (is_head || nobody || body_len == 0)
        return send_all(c->fd, head, hl);
    if (body_len <= 16384) {
        char one[1024 + 16384];
        memcpy(one, head, hl);
        memcpy(one + hl, body, body_len);
        return send_all(c->fd, one, hl + body_len);
    }
    if (send_all(c->fd, head, hl) < 0)
        return -1;
    return send_all(c->fd, body, body_len);
}

/* Stream n pattern bytes, starting at pattern offset 0. */
static int send_pattern(int fd, uint64_t n)
{
    uint64_t off = 0;
    while (off < n) {
        uint64_t left = n - off;
        size_t take = left < PAT_LEN ? (size_t)left : PAT_LEN;
        if (send_all(fd, g_pattern + off % 26, take) < 0)
            return -1;
        off += take;
    }
    return 0;
}

static int send_pattern_chunked(int fd, uint64_t n)
{
    static const size_t sizes[] = { 1, 7, 4096, 65536 };
    char *out = malloc(65536 + 64);
    uint64_t off = 0;
    unsigned k = 0;
    if (!out)
        return -1;
    while (off < n) {
        uint64_t left = n - off;
        size_t take = sizes[k++ % 4];
        if (take > left)
            take = (size_t)left;
        int hl = snprintf(out, 32, "%zx\r\n", take);
        memcpy(out + hl, g_pattern + off % 26, take);
        memcpy(out + (size_t)hl + take, "\r\n", 2);
        if (send_all(fd, out, (size_t)hl + take + 2) < 0) {
            free(out);
            return -1;
        }
        off += take;
    }
    free(out);
    return send_all(fd, "0\r\n\r\n", 5);
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Extract the path from the request target: drop scheme://authority if the
 * target is in absolute form, and drop query and fragment. */
static void target_path(const char *target, char *out, size_t outsz)
{
    const char *p = target;
    if (strncasecmp(p, "http://", 7) == 0 || strncasecmp(p, "https://", 8) == 0) {
        p = strstr(p, "://") + 3;
        p += strcspn(p, "/?#");
        if (*p != '/') {
            snprintf(out, outsz, "/");
            return;
        }
    }
    size_t n = strcspn(p, "?#");
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* ---------------------------------------------------------- WebSocket ---- */

/* Reads exactly len bytes; 0 or -1. */
static int recv_all(int fd, void *p, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = recv(fd, (char *)p + got, len - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

/* The handshake (Sec-WebSocket-Accept from the key), then an echo of data
 * frames until a close frame or EOF.  Returns 0: the connection ends. */
static int serve_websocket(const struct conn *c, const struct request *rq)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    const char *k = strcasestr(rq->head, "\r\nSec-WebSocket-Key:");
    char key[128], accept[64], head[512];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    size_t kl = 0;

    if (!k || !strcasestr(rq->head, "\r\nUpgrade: websocket\r\n") ||
        !strcasestr(rq->head, "\r\nSec-WebSocket-Version: 13\r\n")) {
        send_simple(c, rq, 400, "not a websocket handshake\n", 26, 0, 0);
        return 0;
    }
    for (k += 20; *k == ' '; k++)
        ;
    while (k[kl] && k[kl] != '\r' && kl < 60)
        kl++;
    memcpy(key, k, kl);
    memcpy(key + kl, guid, sizeof(guid));
    EVP_Digest(key, kl + sizeof(guid) - 1, md, &mdlen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)accept, md, (int)mdlen);
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    if (send_all(c->fd, head, (size_t)hl) < 0)
        return 0;
    for (;;) {
        unsigned char h[14], mask[4], *payload;
        uint64_t len;
        if (recv_all(c->fd, h, 2) < 0)
            return 0;
        len = h[1] & 0x7f;
        if (len == 126) {
            if (recv_all(c->fd, h + 2, 2) < 0)
                return 0;
            len = (uint64_t)h[2] << 8 | h[3];
        } else if (len == 127) {
            return 0; /* tests never send frames that large */
        }
        if (!(h[1] & 0x80) || recv_all(c->fd, mask, 4) < 0)
            return 0; /* a client's frames are masked (RFC 6455 5.1) */
        payload = malloc(len + 1);
        if (!payload || recv_all(c->fd, payload, len) < 0) {
            free(payload);
            return 0;
        }
        for (uint64_t i = 0; i < len; i++)
            payload[i] ^= mask[i % 4];
        unsigned char out[4];
        size_t ol = 2;
        out[0] = h[0];
        if (len < 126) {
            out[1] = (unsigned char)len;
        } else {
            out[1] = 126;
            out[2] = (unsigned char)(len >> 8);
            out[3] = (unsigned char)len;
            ol = 4;
        }
        int closing = (h[0] & 0x0f) == 8;
        if (send_all(c->fd, out, ol) < 0 || send_all(c->fd, payload, len) < 0 || closing) {
            free(payload);
            return 0;
        }
        free(payload);
    }
}

/* ------------------------------------------------------ cacheable objects -- */

static atomic_uint_fast64_t g_obj_version;

/* The value of query parameter `name` in target, '+' and %XX decoded; 0
 * when present, -1 when absent. */
static int query_param(const char *target, const char *name, char *out, size_t cap)
{
    const char *q = strchr(target, '?');
    size_t nl = strlen(name);

    for (q = q ? q + 1 : NULL; q && *q; q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL) {
        if (strncmp(q, name, nl) != 0 || q[nl] != '=')
            continue;
        size_t o = 0;
        for (const char *v = q + nl + 1; *v && *v != '&' && o + 1 < cap; v++) {
            if (*v == '+') {
                out[o++] = ' ';
            } else if (*v == '%' && isxdigit((unsigned char)v[1]) && isxdigit((unsigned char)v[2])) {
                char hex[3] = {v[1], v[2], 0};
                out[o++] = (char)strtol(hex, NULL, 16);
                v += 2;
            } else {
                out[o++] = *v;
            }
        }
        out[o] = '\0';
        return 0;
    }
    return -1;
}

static void http_date(time_t t, char *out, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* /obj/...?cc=&etag=&lm=&vary=&size=&delay=&status=&expires=&cookie= — a
 * response whose caching fields the test chooses.  Each full answer carries
 * a new version number in its body and in X-Version, so a test can tell a
 * cached copy from a fresh one; If-None-Match / If-Modified-Since against
 * etag / lm get a 304. */
static int serve_obj(struct conn *c, const struct request *rq, int is_head, int keep)
{
    char cc[256], etag[128], v[256], vary[128], head[4096], date[64], body_start[512];
    int status = 200, hl;
    uint64_t size = 100, version;
    time_t now = time(NULL);
    const char *inm = strcasestr(rq->head, "\r\nIf-None-Match:");
    const char *ims = strcasestr(rq->head, "\r\nIf-Modified-Since:");

    if (query_param(rq->target, "delay", v, sizeof(v)) == 0)
        sleep_ms(strtoull(v, NULL, 10));
    if (query_param(rq->target, "status", v, sizeof(v)) == 0)
        status = atoi(v);
    if (query_param(rq->target, "size", v, sizeof(v)) == 0)
        size = strtoull(v, NULL, 10);
    int has_etag = query_param(rq->target, "etag", etag, sizeof(etag)) == 0;
    int has_lm = query_param(rq->target, "lm", v, sizeof(v)) == 0;
    time_t lm = has_lm ? now - atol(v) : 0;
    char want[160];
    snprintf(want, sizeof(want), "\"%s\"", etag);
    char inm_value[512] = "";
    if (inm)
        snprintf(inm_value, sizeof(inm_value), "%.*s", (int)strcspn(inm + 16, "\r"), inm + 16);
    if ((has_etag && inm && (strstr(inm_value, want) || strchr(inm_value, '*'))) ||
        (has_lm && !inm && ims))
        status = 304;
    http_date(now, date, sizeof(date));
    hl = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nServer: gh-origin\r\nX-Origin: %s\r\nDate: %s\r\n",
                  status, reason(status), g_name, date);
    if (query_param(rq->target, "cc", cc, sizeof(cc)) == 0)
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Cache-Control: %s\r\n", cc);
    if (has_etag)
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "ETag: \"%s\"\r\n", etag);
    if (has_lm) {
        http_date(lm, v, sizeof(v));
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Last-Modified: %s\r\n", v);
    }
    if (query_param(rq->target, "expires", v, sizeof(v)) == 0) {
        http_date(now + atol(v), date, sizeof(date));
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Expires: %s\r\n", date);
    }
    if (query_param(rq->target, "vary", vary, sizeof(vary)) == 0)
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Vary: %s\r\n", vary);
    if (query_param(rq->target, "cookie", v, sizeof(v)) == 0)
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Set-Cookie: %s\r\n", v);
    if (!keep)
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Connection: close\r\n");
    if (status == 304 || status == 204) {
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "\r\n");
        return send_all(c->fd, head, (size_t)hl) < 0 ? 0 : keep;
    }
    version = atomic_fetch_add(&g_obj_version, 1) + 1;
    const char *ae = strcasestr(rq->head, "\r\nAccept-Encoding:");
    int aelen = ae ? (int)strcspn(ae + 19, "\r") : 1;
    int bl = snprintf(body_start, sizeof(body_start), "v=%" PRIu64 " ae=%.*s\n", version,
                      aelen, ae ? ae + 19 : "-");
    if ((uint64_t)bl > size)
        size = (uint64_t)bl;
    hl += snprintf(head + hl, sizeof(head) - (size_t)hl,
                   "X-Version: %" PRIu64 "\r\nContent-Type: text/plain\r\nContent-Length: %" PRIu64 "\r\n\r\n",
                   version, size);
    if (send_all(c->fd, head, (size_t)hl) < 0)
        return 0;
    if (is_head)
        return keep;
    if (send_all(c->fd, body_start, (size_t)bl) < 0 || send_pattern(c->fd, size - (uint64_t)bl) < 0)
        return 0;
    return keep;
}

/* ------------------------------------------------ revalidation playground --
 * /rv/...: a response shaped by the request's own X-Rv-* fields, so that a
 * cache test says, in the request it sends, what the origin does (and a
 * revalidation, which carries the client's fields, is answered the same way):
 *   X-Rv-CC: v           Cache-Control: v
 *   X-Rv-ETag: v         ETag: v, as written ("a" or W/"a")
 *   X-Rv-LM: t           Last-Modified: the HTTP-date of t (seconds since 1970)
 *   X-Rv-Age: n          Age: n (a copy that arrives already old, or stale)
 *   X-Rv-Vary: v         Vary: v
 *   X-Rv-Extra: N: v     the field "N: v" on every answer, 304 included; may repeat
 *   X-Rv-Status: n       answers n (with the body "status n") instead
 *   X-Rv-304: how        when the request's validators match: "full" (the
 *                        default) answers 304 with the ETag and Last-Modified,
 *                        "bare" 304 with neither (as Python's http.server
 *                        does), "other" 304 naming the ETag "other"
 *   X-Rv-Interim: n      an interim response n (103, 100) goes first
 * The validators match when If-None-Match names the ETag (weak comparison)
 * or is "*", or, without If-None-Match, when If-Modified-Since is not
 * before X-Rv-LM.  A full answer's body is "rv=<N>\n" (N counts full answers
 * in this process) followed by the request head as received.  Every answer
 * carries "X-Rv-Answer: <M>" (M counts every /rv/ answer, 304s included),
 * so a test can tell a freshened copy from the one stored before.  One line
 * per request goes to stderr:
 *   rv <METHOD> <target> inm=<If-None-Match or -> ims=<If-Modified-Since or -> status=<status>
 */

static atomic_uint_fast64_t g_rv_count, g_rv_answers;

/* The value of the n-th (0-based) request field `name` into out; 0 when
 * present, -1 when absent. */
static int rv_field(const char *head, const char *name, int n, char *out, size_t cap)
{
    size_t nl = strlen(name);

    for (const char *p = strstr(head, "\n"); p && p[1]; p = strchr(p + 1, '\n')) {
        const char *f = p + 1, *v, *e;
        if (strncasecmp(f, name, nl) != 0 || f[nl] != ':' || n-- > 0)
            continue;
        for (v = f + nl + 1; *v == ' ' || *v == '\t'; v++)
            ;
        e = v + strcspn(v, "\r\n");
        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        snprintf(out, cap, "%.*s", (int)(e - v), v);
        return 0;
    }
    return -1;
}

/* An entity-tag without its weakness indicator. */
static const char *rv_opaque(const char *tag)
{
    return strncmp(tag, "W/", 2) == 0 ? tag + 2 : tag;
}

/* Whether the request's validators match the response's (see above). */
static int rv_matches(const char *head, const char *etag, long lm)
{
    char inm[512], ims[128];
    struct tm tm;

    if (rv_field(head, "If-None-Match", 0, inm, sizeof(inm)) == 0) {
        if (strcmp(inm, "*") == 0)
            return 1;
        if (!etag[0])
            return 0;
        for (char *t = strtok(inm, ", "); t; t = strtok(NULL, ", "))
            if (strcmp(rv_opaque(t), rv_opaque(etag)) == 0)
                return 1;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    if (lm < 0 || rv_field(head, "If-Modified-Since", 0, ims, sizeof(ims)) < 0 ||
        !strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm))
        return 0;
    return (long)timegm(&tm) >= lm;
}

static int serve_rv(struct conn *c, const struct request *rq, int is_head, int keep)
{
    char v[512], etag[256] = "", how[32] = "full", date[64], head[8192], inm[512], ims[128];
    int status = 200, hl, nobody;
    long lm = -1;

    if (rv_field(rq->head, "X-Rv-Interim", 0, v, sizeof(v)) == 0) {
        char interim[256];
        int il = snprintf(interim, sizeof(interim), "HTTP/1.1 %d %s\r\n%s\r\n", atoi(v),
                          atoi(v) == 103 ? "Early Hints" : "Continue",
                          atoi(v) == 103 ? "Link: </rv.css>; rel=preload\r\n" : "");
        if (send_all(c->fd, interim, (size_t)il) < 0)
            return 0;
    }
    rv_field(rq->head, "X-Rv-ETag", 0, etag, sizeof(etag));
    if (rv_field(rq->head, "X-Rv-LM", 0, v, sizeof(v)) == 0)
        lm = atol(v);
    rv_field(rq->head, "X-Rv-304", 0, how, sizeof(how));
    if (rv_field(rq->head, "X-Rv-Status", 0, v, sizeof(v)) == 0)
        status = atoi(v);
    else if (rv_matches(rq->head, etag, lm))
        status = 304;
    if (status == 304 && strcmp(how, "other") == 0)
        snprintf(etag, sizeof(etag), "\"other\"");
    if (rv_field(rq->head, "If-None-Match", 0, inm, sizeof(inm)) < 0)
        strcpy(inm, "-");
    if (rv_field(rq->head, "If-Modified-Since", 0, ims, sizeof(ims)) < 0)
        strcpy(ims, "-");
    fprintf(stderr, "rv %s %s inm=%s ims=%s status=%d\n", rq->method, rq->target, inm, ims, status);

    http_date(time(NULL), date, sizeof(date));
    hl = snprintf(head, sizeof(head),
                  "HTTP/1.1 %d %s\r\nServer: gh-origin\r\nDate: %s\r\nX-Rv-Answer: %" PRIu64 "\r\n",
                  status, reason(status), date, (uint64_t)atomic_fetch_add(&g_rv_answers, 1) + 1);
    if (rv_field(rq->head, "X-Rv-CC", 0, v, sizeof(v)) == 0)
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Cache-Control: %s\r\n", v);
    if (!(status == 304 && strcmp(how, "bare") == 0)) {
        if (etag[0])
            hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "ETag: %s\r\n", etag);
        if (lm >= 0) {
            http_date((time_t)lm, v, sizeof(v));
            hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Last-Modified: %s\r\n", v);
        }
    }
    if (rv_field(rq->head, "X-Rv-Age", 0, v, sizeof(v)) == 0)
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Age: %s\r\n", v);
    if (rv_field(rq->head, "X-Rv-Vary", 0, v, sizeof(v)) == 0)
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Vary: %s\r\n", v);
    for (int i = 0; rv_field(rq->head, "X-Rv-Extra", i, v, sizeof(v)) == 0; i++)
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "%s\r\n", v);
    if (!keep)
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Connection: close\r\n");
    nobody = status == 304 || status == 204;
    if (nobody) {
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "\r\n");
        return send_all(c->fd, head, (size_t)hl) < 0 ? 0 : keep;
    }
    char *body = malloc(64 + rq->head_len);
    if (!body)
        return 0;
    int bl = status == 200
                 ? snprintf(body, 64 + rq->head_len, "rv=%" PRIu64 "\n%s",
                            (uint64_t)atomic_fetch_add(&g_rv_count, 1) + 1, rq->head)
                 : snprintf(body, 64, "status %d\n", status);
    hl += snprintf(head + hl, sizeof(head) - (size_t)hl,
                   "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n", bl);
    int ok = send_all(c->fd, head, (size_t)hl) == 0 && (is_head || send_all(c->fd, body, (size_t)bl) == 0);
    free(body);
    return ok ? keep : 0;
}
/* ------------------------------------------ end of revalidation playground */
static int respond_core14(struct conn *c, const struct request *rq, const char *path,
                          uint64_t body_count, int keep);
/* /types?t=A&t=B... — one Content-Type field per t, in order. */
static int serve_types(struct conn *c, const struct request *rq, int is_head, int keep)
{
    char head[8192], v[1024];
    const char *q = strchr(rq->target, '?');
    int hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nServer: gh-origin\r\nX-Origin: %s\r\n",
                      g_name);

    for (q = q ? q + 1 : NULL; q && *q && hl < (int)sizeof(head) - 2048;
         q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL) {
        size_t o = 0;
        if (strncmp(q, "t=", 2) != 0)
            continue;
        for (const char *p = q + 2; *p && *p != '&' && o + 1 < sizeof(v); p++) {
            if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
                char hex[3] = {p[1], p[2], 0};
                v[o++] = (char)strtol(hex, NULL, 16);
                p += 2;
            } else {
                v[o++] = *p;
            }
        }
        v[o] = '\0';
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Content-Type: %s\r\n", v);
    }
    hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Content-Length: 6\r\n%s\r\n%s",
                   keep ? "" : "Connection: close\r\n", is_head ? "" : "types\n");
    return send_all(c->fd, head, (size_t)hl) < 0 ? 0 : keep;
}

/* Handle one parsed request whose body has been consumed.  Returns 1 to keep
 * the connection, 0 to close it. */
static int respond(struct conn *c, const struct request *rq, uint64_t body_count,
                   uint64_t body_sum)
{
    char path[4096];
    char body[256];
    int is_head = strcmp(rq->method, "HEAD") == 0;
    int keep = rq->keep_alive;
    uint64_t n;

    target_path(rq->target, path, sizeof(path));

    if (strcmp(path, "/upgrade") == 0) {
        /* switches to an echo protocol only when asked properly, hop by hop */
        char buf[4096];
        ssize_t got;
        if (!strcasestr(rq->head, "\r\nUpgrade: echo\r\n") ||
            !strcasestr(rq->head, "\r\nConnection: upgrade\r\n")) {
            send_simple(c, rq, 400, "upgrade not asked\n", 18, is_head, 0);
            return 0;
        }
        if (send_all(c->fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n"
                            "Connection: upgrade\r\n\r\n", 72) < 0)
            return 0;
        while ((got = recv(c->fd, buf, sizeof(buf), 0)) > 0)
            if (send_all(c->fd, buf, (size_t)got) < 0)
                break;
        return 0;
    }
    if (strcmp(path, "/ws") == 0)
        return serve_websocket(c, rq);
    int core14 = respond_core14(c, rq, path, body_count, keep);
    if (core14 != 2)
        return core14;
    if (strcmp(path, "/types") == 0)
        return serve_types(c, rq, is_head, keep);
    if (strncmp(path, "/obj/", 5) == 0)
        return serve_obj(c, rq, is_head, keep);
    if (strncmp(path, "/rv/", 4) == 0)
        return serve_rv(c, rq, is_head, keep);
    if (strcmp(path, "/redirect") == 0) {
        char head[1024];
        int hl = snprintf(head, sizeof(head),
                          "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/landed\r\n"
                          "X-Origin: %s\r\nContent-Length: 0\r\n%s\r\n",
                          g_port, g_name, keep ? "" : "Connection: close\r\n");
        if (send_all(c->fd, head, (size_t)hl) < 0)
            return 0;
        return keep;
    }
    if (strcmp(path, "/hello") == 0) {
        int bl = snprintf(body, sizeof(body), "hello from %s\n", g_name);
        if (send_simple(c, rq, 200, body, (size_t)bl, is_head, keep) < 0)
            return 0;
        return keep;
    }
    if (strncmp(path, "/bytes/", 7) == 0 && parse_u64(path + 7, MAX_N, &n) == 0) {
        char head[1024];
        size_t hl = format_head(head, sizeof(head), c, 200, "application/octet-stream",
                                FR_LENGTH, n, keep, rq->http_minor);
        if (send_all(c->fd, head, hl) < 0)
            return 0;
        if (!is_head && send_pattern(c->fd, n) < 0)
            return 0;
        return keep;
    }
    if (strncmp(path, "/chunked/", 9) == 0 && parse_u64(path + 9, MAX_N, &n) == 0) {
        char head[1024];
        size_t hl = format_head(head, sizeof(head), c, 200, "application/octet-stream",
                                FR_CHUNKED, 0, keep, rq->http_minor);
        if (send_all(c->fd, head, hl) < 0)
            return 0;
        if (!is_head && send_pattern_chunked(c->fd, n) < 0)
            return 0;
        return keep;
    }
    if (strncmp(path, "/close/", 7) == 0 && parse_u64(path + 7, MAX_N, &n) == 0) {
        char head[1024];
        size_t hl = format_head(head, sizeof(head), c, 200, "application/octet-stream",
                                FR_CLOSE, 0, 0, rq->http_minor);
        if (send_all(c->fd, head, hl) < 0)
            return 0;
        if (!is_head)
            send_pattern(c->fd, n);
        return 0;
    }
    if (strncmp(path, "/truncate/", 10) == 0 && parse_u64(path + 10, MAX_N, &n) == 0) {
        char head[1024];
        size_t hl = format_head(head, sizeof(head), c, 200, "application/octet-stream",
                                FR_LENGTH, n, keep, rq->http_minor);
        if (send_all(c->fd, head, hl) < 0)
            return 0;
        if (!is_head)
            send_pattern(c->fd, n / 2);
        return 0;               /* the origin "dies": always close */
    }
    if (strncmp(path, "/slow/", 6) == 0 && parse_u64(path + 6, 24ULL * 3600 * 1000, &n) == 0) {
        sleep_ms(n);
        if (send_simple(c, rq, 200, "slow done\n", 10, is_head, keep) < 0)
            return 0;
        return keep;
    }
    if (strcmp(path, "/sink") == 0) {
        int bl = snprintf(body, sizeof(body), "bytes=%" PRIu64 " sum=%" PRIu64 "\n", body_count,
                          body_sum);
        if (send_simple(c, rq, 200, body, (size_t)bl, is_head, keep) < 0)
            return 0;
        return keep;
    }
    if (strcmp(path, "/headers") == 0) {
        if (send_simple(c, rq, 200, rq->head, rq->head_len, is_head, keep) < 0)
            return 0;
        return keep;
    }
    if (strncmp(path, "/status/", 8) == 0 && parse_u64(path + 8, 999, &n) == 0 && n >= 200 &&
        n <= 599) {
        int code = (int)n;
        int bl = snprintf(body, sizeof(body), "status %d\n", code);
        if (send_simple(c, rq, code, body, (size_t)bl, is_head, keep) < 0)
            return 0;
        return keep;
    }
    if (send_simple(c, rq, 404, "not found\n", 10, is_head, keep) < 0)
        return 0;
    return keep;
}

static void send_error(struct conn *c, const struct request *rq, int code, const char *why)
{
    char body[256];
    int bl = snprintf(body, sizeof(body), "bad request: %s\n", why);
    send_simple(c, rq, code, body, (size_t)bl, 0, 0);
}

/* --------------------------------------------------------- connections ---- */

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    size_t scanned = 0;

    for (;;) {
        /* read a request head */
        size_t hend = 0;
        for (;;) {
            /* tolerate stray CRLFs before a request (RFC 9112 section 2.2) */
            while (scanned == 0 && c->start < c->end &&
                   (c->buf[c->start] == '\r' || c->buf[c->start] == '\n'))
                c->start++;
            size_t avail = c->end - c->start;
            if (avail > 0) {
                /* re-scan a little before where we stopped, for split CRLFs */
                size_t from = scanned > 3 ? scanned - 3 : 0;
                size_t e = find_head_end(c->buf + c->start + from, avail - from);
                if (e) {
                    hend = from + e;
                    break;
                }
                scanned = avail;
            }
            if (avail >= MAX_HEAD) {
                struct request rq = { .http_minor = 1 };
                send_error(c, &rq, 431, "request head too large");
                goto out;
            }
            int r = conn_fill(c);
            if (r <= 0)
                goto out;       /* EOF, idle timeout, or error */
        }
        scanned = 0;

        struct request rq;
        memset(&rq, 0, sizeof(rq));
        rq.head = malloc(hend + 1);
        if (!rq.head)
            goto out;
        memcpy(rq.head, c->buf + c->start, hend);
        rq.head[hend] = '\0';
        rq.head_len = hend;
        c->start += hend;
        c->nreq++;

        parse_head(&rq);
        fprintf(stderr, "origin %s conn=%" PRIu64 " req=%" PRIu64 " %s %s\n", g_name, c->id,
                c->nreq, rq.method[0] ? rq.method : "-", rq.target[0] ? rq.target : "-");
        if (rq.error) {
            send_error(c, &rq, rq.error_status, rq.error);
            free(rq.head);
            goto out;
        }

        uint64_t count = 0, sum = 0;
        int has_body = rq.chunked || (rq.has_cl && rq.content_length > 0);
        if (has_body && rq.expect_continue && rq.http_minor == 1 &&
            c->start == c->end) {
            if (send_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0) {
                free(rq.head);
                goto out;
            }
        }
        int br = 0;
        if (rq.chunked)
            br = consume_chunked(c, &count, &sum);
        else if (rq.has_cl)
            br = consume_bytes(c, rq.content_length, &count, &sum);
        if (br < 0) {
            send_error(c, &rq, 400, "bad or incomplete request body");
            free(rq.head);
            goto out;
        }

        int keep = respond(c, &rq, count, sum);
        free(rq.head);
        if (!keep)
            goto out;
    }
out:
    close_gracefully(c->fd);
    free(c);
    return NULL;
}

/* ---------------------------------------------------------------- main ---- */

static void on_signal(int sig)
{
    (void)sig;
    _exit(0);
}

static void usage(void)
{
    fprintf(stderr, "usage: gh-origin -p PORT [-n NAME] [-a ADDR] [-i IDLE_MS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1";
    const char *port = NULL;
    const char *idle = NULL;
    char addrbuf[256];
    int opt;

    while ((opt = getopt(argc, argv, "p:n:a:i:h")) != -1) {
        switch (opt) {
        case 'p': port = optarg; break;
        case 'n': g_name = optarg; break;
        case 'a': addr = optarg; break;
        case 'i': idle = optarg; break;
        default: usage();
        }
    }
    if (!port || optind != argc)
        usage();
    uint64_t portnum;
    if (parse_u64(port, 65535, &portnum) < 0) {
        fprintf(stderr, "gh-origin: bad port %s\n", port);
        return 2;
    }
    uint64_t idle_ms = 0;
    if (idle && parse_u64(idle, 86400000, &idle_ms) < 0) {
        fprintf(stderr, "gh-origin: bad idle timeout %s\n", idle);
        return 2;
    }
    g_idle_ms = (long)idle_ms;

    if (strlen(g_name) > 200 || strpbrk(g_name, "\r\n")) {
        fprintf(stderr, "gh-origin: bad name\n");
        return 2;
    }

    /* strip [brackets] around an IPv6 literal */
    size_t al = strlen(addr);
    if (al >= 2 && addr[0] == '[' && addr[al - 1] == ']' && al - 2 < sizeof(addrbuf)) {
        memcpy(addrbuf, addr + 1, al - 2);
        addrbuf[al - 2] = '\0';
        addr = addrbuf;
    }

    for (size_t i = 0; i < sizeof(g_pattern); i++)
        g_pattern[i] = (char)('a' + i % 26);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    int gai = getaddrinfo(addr, port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "gh-origin: bad address %s port %s: %s\n", addr, port, gai_strerror(gai));
        return 1;
    }
    int lfd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("gh-origin: socket");
        return 1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, res->ai_addr, res->ai_addrlen) < 0) {
        perror("gh-origin: bind");
        return 1;
    }
    freeaddrinfo(res);
    if (listen(lfd, 1024) < 0) {
        perror("gh-origin: listen");
        return 1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(lfd, (struct sockaddr *)&ss, &sl) < 0) {
        perror("gh-origin: getsockname");
        return 1;
    }
    int bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    g_port = bound;
    printf("PORT %d\n", bound);
    fflush(stdout);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);

    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                sleep_ms(10);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (g_idle_ms > 0) {
            struct timeval tv = { g_idle_ms / 1000, (g_idle_ms % 1000) * 1000 };
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        }
        struct conn *c = malloc(sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->id = atomic_fetch_add(&g_next_conn_id, 1);
        c->nreq = 0;
        c->start = c->end = 0;
        pthread_t th;
        if (pthread_create(&th, &attr, conn_main, c) != 0) {
            close(fd);
            free(c);
        }
    }
}

/* ------------------------------------- interim responses, requests held ----
 *
 * /interim?codes=103,100,102[&repeat=R][&cc=VALUE]
 *     Sends the interim (1xx) responses named in codes, in that order (all
 *     of them R times over, once by default), then 200 "interim done
 *     bytes=N\n" (N: request body bytes), with
 *     Cache-Control: VALUE when cc is given.  Each interim response
 *     carries "Server: gh-origin", a field "X-Hop" that its Connection
 *     field names, and "Keep-Alive"; a 103 carries two Link fields too.
 * /hold     Counts itself in flight, waits until the next /release (or
 *           60 s), and answers 200 "held\n".
 * /release  Lets every held request go; answers "released\n".
 * /inflight Answers "inflight=N peak=M\n": held requests now, and the
 *           most there ever were at once.
 */

static pthread_mutex_t g_hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_hold_cond = PTHREAD_COND_INITIALIZER;
static unsigned g_hold_gen, g_held, g_held_peak;

static const char *interim_reason(int code)
{
    switch (code) {
    case 100: return "Continue";
    case 102: return "Processing";
    case 103: return "Early Hints";
    default: return "Interim";
    }
}

/* The interim responses named in the comma-separated `codes`, once. */
static int send_interims(const struct conn *c, const char *codes)
{
    char list[128], head[1024];
    char *save = NULL;

    snprintf(list, sizeof(list), "%s", codes);
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int code = atoi(t), hl;
        if (code < 100 || code > 199)
            continue;
        hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nServer: gh-origin\r\nConnection: X-Hop\r\nX-Hop: secret\r\n"
                      "Keep-Alive: timeout=5\r\n%s\r\n",
                      code, interim_reason(code),
                      code == 103 ? "Link: </style.css>; rel=preload; as=style\r\n"
                                    "Link: </app.js>; rel=preload; as=script\r\n"
                                  : "");
        if (send_all(c->fd, head, (size_t)hl) < 0)
            return -1;
    }
    return 0;
}

static int serve_interim(struct conn *c, const struct request *rq, uint64_t body_count, int keep)
{
    char codes[128], cc[256], head[1024], body[64], v[32];
    long repeat = 1;
    int bl, hl;

    if (query_param(rq->target, "codes", codes, sizeof(codes)) < 0)
        codes[0] = '\0';
    if (query_param(rq->target, "repeat", v, sizeof(v)) == 0)
        repeat = atol(v);
    for (long k = 0; k < repeat; k++)
        if (send_interims(c, codes) < 0)
            return 0;
    bl = snprintf(body, sizeof(body), "interim done bytes=%" PRIu64 "\n", body_count);
    hl = snprintf(head, sizeof(head),
                  "HTTP/1.1 200 OK\r\nServer: gh-origin\r\nX-Origin: %s\r\nContent-Type: text/plain\r\n"
                  "Content-Length: %d\r\n",
                  g_name, bl);
    if (query_param(rq->target, "cc", cc, sizeof(cc)) == 0)
        hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "Cache-Control: %s\r\n", cc);
    hl += snprintf(head + hl, sizeof(head) - (size_t)hl, "%s\r\n", keep ? "" : "Connection: close\r\n");
    if (send_all(c->fd, head, (size_t)hl) < 0 || send_all(c->fd, body, (size_t)bl) < 0)
        return 0;
    return keep;
}

static int serve_hold(struct conn *c, const struct request *rq, int keep)
{
    struct timespec until;
    unsigned gen;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&g_hold_lock);
    gen = g_hold_gen;
    if (++g_held > g_held_peak)
        g_held_peak = g_held;
    while (g_hold_gen == gen)
        if (pthread_cond_timedwait(&g_hold_cond, &g_hold_lock, &until) == ETIMEDOUT)
            break;
    g_held--;
    pthread_mutex_unlock(&g_hold_lock);
    return send_simple(c, rq, 200, "held\n", 5, 0, keep) < 0 ? 0 : keep;
}

/* 2 when path is not one of this block's. */
static int respond_core14(struct conn *c, const struct request *rq, const char *path,
                          uint64_t body_count, int keep)
{
    char body[64];
    int bl;

    if (strcmp(path, "/interim") == 0)
        return serve_interim(c, rq, body_count, keep);
    if (strcmp(path, "/hold") == 0)
        return serve_hold(c, rq, keep);
    if (strcmp(path, "/release") == 0) {
        pthread_mutex_lock(&g_hold_lock);
        g_hold_gen++;
        pthread_cond_broadcast(&g_hold_cond);
        pthread_mutex_unlock(&g_hold_lock);
        return send_simple(c, rq, 200, "released\n", 9, 0, keep) < 0 ? 0 : keep;
    }
    if (strcmp(path, "/inflight") == 0) {
        pthread_mutex_lock(&g_hold_lock);
        bl = snprintf(body, sizeof(body), "inflight=%u peak=%u\n", g_held, g_held_peak);
        pthread_mutex_unlock(&g_hold_lock);
        return send_simple(c, rq, 200, body, (size_t)bl, 0, keep) < 0 ? 0 : keep;
    }
    return 2;
}

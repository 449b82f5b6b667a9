/* origin_reply.c — the test origin's answers (see origin.h for what a
 * handler calls, origin_reply.h for the server's side): the head built from
 * the handler's fields and the identity fields, the body in memory or
 * streamed from the pattern, framed by length, by chunks or by the close.
 * It decides nothing about what an answer says. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "origin_reply.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PAT_LEN (64 * 1024)    /* pattern bytes per send */
#define FIELDS_CAP (32 * 1024) /* the handler's field lines */

static char g_pattern[PAT_LEN + 26];
static pthread_once_t g_pattern_once = PTHREAD_ONCE_INIT;

static void fill_pattern(void)
{
    for (size_t i = 0; i < sizeof(g_pattern); i++)
        g_pattern[i] = (char)('a' + i % 26);
}

enum framing { BY_LENGTH, BY_CHUNKS, BY_CLOSE };

/* One answer, built by the handler; origin.c makes, sends and frees it. */
struct origin_reply {
    struct origin_reply_to to;
    int status;
    int bare;   /* no identity fields */
    int close;  /* close after it */
    int raw;    /* the body is the whole answer */
    int taken;  /* the handler has the socket */
    int failed; /* a send failed: nothing more goes out */
    enum framing framing;
    int cut_set; /* send only `cut` body bytes, then close */
    uint64_t cut;
    char ctype[256];         /* Content-Type; "" for none */
    char fields[FIELDS_CAP]; /* the handler's field lines, each ending in CRLF */
    size_t flen;
    char *body; /* the in-memory body bytes */
    size_t blen, bcap;
    uint64_t pattern; /* pattern bytes after them */
};

/* ------------------------------------------------- building an answer ---- */

/* A test that asks for more than the origin holds is a test to fix. */
static void too_much(const char *what)
{
    dprintf(2, "test origin: %s too large\n", what);
    abort();
}

void origin_status(struct origin_reply *re, int code)
{
    re->status = code;
}

void origin_add(struct origin_reply *re, const char *fmt, ...)
{
    size_t room = sizeof(re->fields) - re->flen;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(re->fields + re->flen, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n + 2 >= room)
        too_much("the fields");
    re->flen += (size_t)n;
    memcpy(re->fields + re->flen, "\r\n", 2);
    re->flen += 2;
}

void origin_bare(struct origin_reply *re)
{
    re->bare = 1;
}

static void name_type(struct origin_reply *re, const char *ctype)
{
    if (ctype && !re->ctype[0])
        snprintf(re->ctype, sizeof(re->ctype), "%s", ctype);
}

/* Room for n more body bytes and a NUL. */
static void body_room(struct origin_reply *re, size_t n)
{
    if (re->blen + n + 1 <= re->bcap)
        return;
    re->bcap = re->blen + n + 1 > 2 * re->bcap ? re->blen + n + 1 : 2 * re->bcap;
    re->body = realloc(re->body, re->bcap);
    if (!re->body)
        too_much("the body");
}

void origin_text(struct origin_reply *re, const char *fmt, ...)
{
    va_list ap, again;
    int n;

    va_start(ap, fmt);
    va_copy(again, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0) {
        body_room(re, (size_t)n);
        vsnprintf(re->body + re->blen, (size_t)n + 1, fmt, again);
        re->blen += (size_t)n;
    }
    va_end(again);
    name_type(re, "text/plain");
}

void origin_body(struct origin_reply *re, const char *ctype, const void *p, size_t n)
{
    body_room(re, n);
    memcpy(re->body + re->blen, p, n);
    re->blen += n;
    re->body[re->blen] = '\0';
    name_type(re, ctype);
}

void origin_pattern(struct origin_reply *re, uint64_t n)
{
    re->pattern += n;
    name_type(re, "application/octet-stream");
}

void origin_chunked(struct origin_reply *re)
{
    re->framing = BY_CHUNKS;
}

void origin_until_close(struct origin_reply *re)
{
    re->framing = BY_CLOSE;
}

void origin_cut(struct origin_reply *re, uint64_t n)
{
    re->cut_set = 1;
    re->cut = n;
}

void origin_close(struct origin_reply *re)
{
    re->close = 1;
}

void origin_raw(struct origin_reply *re, const void *p, size_t n)
{
    re->raw = 1;
    origin_body(re, NULL, p, n);
}

void origin_send(struct origin_reply *re, const void *p, size_t n)
{
    if (!re->failed && origin_write_all(re->to.fd, p, n) < 0)
        re->failed = 1;
}

int origin_take(struct origin_reply *re)
{
    re->taken = 1;
    return re->to.fd;
}

/* -------------------------------------------------- sending an answer ---- */

static const char *reason(int code)
{
    switch (code) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
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

/* Body bytes [off, off + n), n <= PAT_LEN: the in-memory ones, then the
 * pattern's. */
static void body_bytes(const struct origin_reply *re, uint64_t off, char *dst, size_t n)
{
    while (n > 0) {
        size_t k;
        if (off < re->blen) {
            k = re->blen - (size_t)off < n ? re->blen - (size_t)off : n;
            memcpy(dst, re->body + off, k);
        } else {
            k = n;
            memcpy(dst, g_pattern + (off - re->blen) % 26, k);
        }
        dst += k;
        off += k;
        n -= k;
    }
}

static int send_chunks(const struct origin_reply *re, uint64_t limit, int last)
{
    static const size_t sizes[] = {1, 7, 4096, 65536};
    char *out = malloc(65536 + 64);
    uint64_t off = 0;
    unsigned k = 0;
    int rc = out ? 0 : -1;

    while (rc == 0 && off < limit) {
        size_t take = sizes[k++ % 4];
        if (take > limit - off)
            take = (size_t)(limit - off);
        int hl = snprintf(out, 32, "%zx\r\n", take);
        body_bytes(re, off, out + hl, take);
        memcpy(out + hl + take, "\r\n", 2);
        rc = origin_write_all(re->to.fd, out, (size_t)hl + take + 2);
        off += take;
    }
    free(out);
    return rc == 0 && last ? origin_write_all(re->to.fd, "0\r\n\r\n", 5) : rc;
}

/* The body after the head: in memory, then the pattern streamed. */
static int send_body(const struct origin_reply *re, uint64_t total)
{
    uint64_t limit = re->cut_set && re->cut < total ? re->cut : total;
    size_t mem = re->blen < limit ? re->blen : (size_t)limit;

    if (re->framing == BY_CHUNKS)
        return send_chunks(re, limit, limit == total);
    if (origin_write_all(re->to.fd, re->body, mem) < 0)
        return -1;
    for (uint64_t off = 0; off < limit - mem;) {
        uint64_t left = limit - mem - off;
        size_t take = left < PAT_LEN ? (size_t)left : PAT_LEN;
        if (origin_write_all(re->to.fd, g_pattern + off % 26, take) < 0)
            return -1;
        off += take;
    }
    return 0;
}

/* The head as origin.h lists it, with a small in-memory body in the same
 * write when `with_body`. */
static int send_head(const struct origin_reply *re, int nobody, uint64_t total, int announce_close,
                     int with_body)
{
    size_t cap = re->flen + 2048 + (with_body ? re->blen : 0), n;
    char *h = malloc(cap);
    int rc;

    if (!h)
        return -1;
    n = (size_t)snprintf(h, cap, "HTTP/1.1 %d %s\r\n", re->status, reason(re->status));
    if (!re->bare)
        n += (size_t)snprintf(h + n, cap - n,
                              "Server: gh-origin\r\nX-Origin: %s\r\nX-Conn-Id: %" PRIu64
                              "\r\nX-Conn-Requests: %" PRIu64 "\r\n",
                              re->to.name, re->to.conn_id, re->to.nreq);
    memcpy(h + n, re->fields, re->flen);
    n += re->flen;
    if (!nobody && re->ctype[0])
        n += (size_t)snprintf(h + n, cap - n, "Content-Type: %s\r\n", re->ctype);
    if (!nobody && re->framing == BY_LENGTH)
        n += (size_t)snprintf(h + n, cap - n, "Content-Length: %" PRIu64 "\r\n", total);
    if (!nobody && re->framing == BY_CHUNKS)
        n += (size_t)snprintf(h + n, cap - n, "Transfer-Encoding: chunked\r\n");
    if (announce_close)
        n += (size_t)snprintf(h + n, cap - n, "Connection: close\r\n");
    else if (re->to.http_minor == 0)
        n += (size_t)snprintf(h + n, cap - n, "Connection: keep-alive\r\n");
    n += (size_t)snprintf(h + n, cap - n, "\r\n");
    if (with_body && re->blen) {
        memcpy(h + n, re->body, re->blen);
        n += re->blen;
    }
    rc = origin_write_all(re->to.fd, h, n);
    free(h);
    return rc;
}

/* Sends the answer the handler built; 1 to keep the connection, 0 to close. */
int origin_reply_send(const struct origin_reply *re)
{
    int nobody = re->status / 100 == 1 || re->status == 204 || re->status == 304;
    uint64_t total = nobody ? 0 : re->blen + re->pattern;
    int announce = !re->to.keep || re->close || (!nobody && re->framing == BY_CLOSE);
    int body = !nobody && !re->to.is_head;
    int small =
        body && re->framing != BY_CHUNKS && !re->pattern && !re->cut_set && re->blen <= 16384;

    if (re->taken || re->failed)
        return 0;
    if (re->raw) {
        origin_write_all(re->to.fd, re->body, re->blen);
        return 0;
    }
    if (send_head(re, nobody, total, announce, small) < 0)
        return 0;
    if (body && !small && send_body(re, total) < 0)
        return 0;
    return !announce && !re->cut_set;
}

/* ------------------------------------------------------ the server's side ---- */

int origin_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

struct origin_reply *origin_reply_new(const struct origin_reply_to *to)
{
    struct origin_reply *re = calloc(1, sizeof(*re));

    if (!re)
        too_much("a reply");
    pthread_once(&g_pattern_once, fill_pattern);
    re->to = *to;
    re->status = 200;
    return re;
}

void origin_reply_free(struct origin_reply *re)
{
    free(re->body);
    free(re);
}

/* origin_request.c — the test origin's requests (see origin.h for what a
 * handler reads, origin_request.h for the server's side): a head read off
 * the connection and parsed as strictly as a careful server would, the
 * body read whole (by length or chunked), the line each request leaves in
 * the origin's log, and the accessors handlers use. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "origin_request.h"
#include "origin_reply.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HEAD (60 * 1024)  /* largest request head accepted */
#define MAX_LINE 8192         /* largest chunk-size or trailer line */
#define BODY_KEEP (64 * 1024) /* request body bytes kept for the handler */

/* One request as read, owned by its connection's thread; pub (its first
 * member, what the handler sees) points into it. */
struct request {
    struct origin_request pub;
    char *head; /* a copy of the raw head, NUL-terminated */
    size_t head_len;
    char method[32];
    char target[4096];
    char path[4096];
    char query[4096];
    int http_minor;
    int keep_alive;
    int has_cl;
    uint64_t content_length;
    int chunked;
    int expect_continue;
    const char *error; /* set when the request is bad */
    int error_status;
    char *body; /* its first BODY_KEEP bytes */
    size_t kept;
    uint64_t count, sum;
    char trailers[2048]; /* a chunked body's trailer lines, each ending "\n" */
};

/* ---------------------------------------------------------------- I/O ---- */

/* Reads more bytes into the connection buffer, compacting it first.
 * 1: got bytes, 0: EOF, -1: error or a full buffer. */
static int conn_fill(struct origin_conn *c)
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
        if (errno != EINTR)
            return -1;
    }
}

/* The index just past the blank line ending a head in buf[0, len), or 0.
 * CRLF and bare LF line ends both count. */
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

/* One line of at most MAX_LINE bytes into out, without its end.  0, or -1
 * on EOF, error or a line too long. */
static int read_line(struct origin_conn *c, char *out, size_t outsz)
{
    for (;;) {
        char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
        if (nl) {
            size_t n = (size_t)(nl - (c->buf + c->start)), keep = n;
            if (keep > 0 && c->buf[c->start + keep - 1] == '\r')
                keep--;
            if (keep >= outsz)
                return -1;
            memcpy(out, c->buf + c->start, keep);
            out[keep] = '\0';
            c->start += n + 1;
            return 0;
        }
        if (c->end - c->start >= MAX_LINE || conn_fill(c) <= 0)
            return -1;
    }
}

/* A line in the log, in one write so lines from threads do not mix. */
static void log_line(const char *fmt, va_list ap)
{
    char line[8192];
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);

    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (write(2, line, (size_t)n) < 0) {
        /* nowhere to say it */
    }
}

static void log_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_line(fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ parsing ---- */

static int token_in_list(const char *list, size_t len, const char *token)
{
    size_t tl = strlen(token), i = 0;

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

/* Reads the request line: method, target, version. */
static void parse_request_line(struct request *rq, const char *p, const char *le)
{
    const char *sp1 = memchr(p, ' ', (size_t)(le - p));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(le - sp1 - 1)) : NULL;

    if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1)
        return bad(rq, 400, "malformed request line");
    if ((size_t)(sp1 - p) >= sizeof(rq->method) || (size_t)(sp2 - sp1 - 1) >= sizeof(rq->target))
        return bad(rq, 400, "method or target too long");
    memcpy(rq->method, p, (size_t)(sp1 - p));
    rq->method[sp1 - p] = '\0';
    memcpy(rq->target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    rq->target[sp2 - sp1 - 1] = '\0';
    for (const char *q = p; q < le; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            return bad(rq, 400, "control character in request line");
    if (le - sp2 - 1 == 8 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0)
        rq->http_minor = 1;
    else if (le - sp2 - 1 == 8 && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0)
        rq->http_minor = 0;
    else
        bad(rq, 400, "unsupported HTTP version");
}

/* What a Content-Length field says. */
static void parse_length(struct request *rq, const char *v, size_t vl)
{
    uint64_t n = 0;

    if (vl == 0 || vl > 18)
        return bad(rq, 400, "bad Content-Length");
    for (size_t i = 0; i < vl; i++) {
        if (!isdigit((unsigned char)v[i]))
            return bad(rq, 400, "bad Content-Length");
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (rq->has_cl && rq->content_length != n)
        return bad(rq, 400, "conflicting Content-Length");
    rq->has_cl = 1;
    rq->content_length = n;
}

/* The fields that frame the message or the connection. */
struct framing_fields {
    int conn_close, conn_keep, has_host, te_count;
    const char *te;
    size_t te_len;
};

static void parse_field(struct request *rq, struct framing_fields *f, const char *p, const char *le)
{
    const char *colon = memchr(p, ':', (size_t)(le - p)), *v, *ve;
    size_t nlen, vl;

    if (*p == ' ' || *p == '\t')
        return bad(rq, 400, "obsolete line folding");
    if (!colon || colon == p)
        return bad(rq, 400, "malformed header field");
    for (const char *q = p; q < colon; q++)
        if (*q == ' ' || *q == '\t' || (unsigned char)*q < 0x21)
            return bad(rq, 400, "whitespace in header field name");
    nlen = (size_t)(colon - p);
    for (v = colon + 1; v < le && (*v == ' ' || *v == '\t'); v++)
        ;
    for (ve = le; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
        ;
    vl = (size_t)(ve - v);
    if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
        parse_length(rq, v, vl);
    } else if (nlen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
        f->te_count++;
        f->te = v;
        f->te_len = vl;
    } else if (nlen == 10 && strncasecmp(p, "Connection", 10) == 0) {
        f->conn_close |= token_in_list(v, vl, "close");
        f->conn_keep |= token_in_list(v, vl, "keep-alive");
    } else if (nlen == 4 && strncasecmp(p, "Host", 4) == 0) {
        f->has_host = 1;
    } else if (nlen == 6 && strncasecmp(p, "Expect", 6) == 0) {
        rq->expect_continue |= vl == 12 && strncasecmp(v, "100-continue", 12) == 0;
    }
}

/* Parses rq->head; sets rq->error when it is bad. */
static void parse_head(struct request *rq)
{
    const char *p = rq->head, *end = rq->head + rq->head_len;
    struct framing_fields f = {0};
    const char *eol = memchr(p, '\n', (size_t)(end - p)), *le;

    rq->http_minor = 1;
    if (!eol)
        return bad(rq, 400, "no request line");
    le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
    parse_request_line(rq, p, le);
    for (p = eol + 1; !rq->error && p < end; p = eol + 1) {
        if (!(eol = memchr(p, '\n', (size_t)(end - p))))
            break;
        le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        if (le == p)
            break; /* the blank line */
        parse_field(rq, &f, p, le);
    }
    if (rq->error)
        return;
    rq->keep_alive = rq->http_minor == 1 ? !f.conn_close : f.conn_keep && !f.conn_close;
    if (f.te_count) {
        if (rq->has_cl)
            return bad(rq, 400, "both Content-Length and Transfer-Encoding");
        if (f.te_count != 1 || f.te_len != 7 || strncasecmp(f.te, "chunked", 7) != 0)
            return bad(rq, 501, "unsupported Transfer-Encoding");
        rq->chunked = 1;
    }
    if (rq->http_minor == 1 && !f.has_host)
        bad(rq, 400, "missing Host");
}

/* The target's path (absolute form loses scheme and authority; a target
 * without one is "/") and its query. */
static void split_target(struct request *rq)
{
    const char *p = rq->target, *q = strchr(rq->target, '?');

    if (strncasecmp(p, "http://", 7) == 0 || strncasecmp(p, "https://", 8) == 0) {
        p = strstr(p, "://") + 3;
        p += strcspn(p, "/?#");
    }
    if (p != rq->target && *p != '/')
        snprintf(rq->path, sizeof(rq->path), "/");
    else
        snprintf(rq->path, sizeof(rq->path), "%.*s", (int)strcspn(p, "?#"), p);
    snprintf(rq->query, sizeof(rq->query), "%s", q ? q + 1 : "");
}

/* ------------------------------------------------------ request bodies ---- */

static void account(struct request *rq, const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;

    if (rq->kept < BODY_KEEP) {
        size_t k = n < BODY_KEEP - rq->kept ? n : BODY_KEEP - rq->kept;
        memcpy(rq->body + rq->kept, p, k);
        rq->kept += k;
    }
    for (size_t i = 0; i < n; i++)
        rq->sum += u[i];
    rq->count += n;
}

/* Consumes exactly n body bytes.  0, or -1 on EOF or error. */
static int consume_bytes(struct origin_conn *c, struct request *rq, uint64_t n)
{
    while (n > 0) {
        if (c->start == c->end) {
            c->start = c->end = 0;
            if (conn_fill(c) <= 0)
                return -1;
        }
        size_t avail = c->end - c->start, take = avail < n ? avail : (size_t)n;
        account(rq, c->buf + c->start, take);
        c->start += take;
        n -= take;
    }
    return 0;
}

/* The size of a chunk-size line ("1a;ext"); -1 when it is no such line. */
static int64_t chunk_size(const char *line)
{
    uint64_t size = 0;
    int digits = 0;
    const char *q = line;

    for (; isxdigit((unsigned char)*q); q++) {
        if (++digits > 15)
            return -1;
        size = size * 16 + (uint64_t)(isdigit((unsigned char)*q)
                                          ? *q - '0'
                                          : tolower((unsigned char)*q) - 'a' + 10);
    }
    while (*q == ' ' || *q == '\t')
        q++;
    return digits == 0 || (*q != '\0' && *q != ';') ? -1 : (int64_t)size;
}

/* Reads a chunked body, decoding it; the trailer lines are kept (as far
 * as rq->trailers holds them).  0, or -1. */
static int consume_chunked(struct origin_conn *c, struct request *rq)
{
    char line[MAX_LINE];
    int64_t size;

    for (;;) {
        if (read_line(c, line, sizeof(line)) < 0 || (size = chunk_size(line)) < 0)
            return -1;
        if (size == 0)
            break;
        if (consume_bytes(c, rq, (uint64_t)size) < 0 || read_line(c, line, sizeof(line)) < 0 ||
            line[0] != '\0')
            return -1;
    }
    for (int i = 0; i < 1000; i++) {
        if (read_line(c, line, sizeof(line)) < 0)
            return -1;
        if (line[0] == '\0')
            return 0;
        size_t n = strlen(rq->trailers);
        snprintf(rq->trailers + n, sizeof(rq->trailers) - n, "%s\n", line);
    }
    return -1;
}

/* ------------------------------------------------------- the request ---- */

int origin_field(const struct origin_request *rq, const char *name, int nth, char *out, size_t cap)
{
    size_t nl = strlen(name);

    for (const char *p = strchr(rq->head, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        const char *f = p + 1, *v, *e;
        if (strncasecmp(f, name, nl) != 0 || f[nl] != ':' || nth-- > 0)
            continue;
        for (v = f + nl + 1; *v == ' ' || *v == '\t'; v++)
            ;
        for (e = v + strcspn(v, "\r\n"); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
            ;
        snprintf(out, cap, "%.*s", (int)(e - v), v);
        return 0;
    }
    return -1;
}

int origin_query(const struct origin_request *rq, const char *name, int nth, char *out, size_t cap)
{
    size_t nl = strlen(name);

    for (const char *q = rq->query; q && *q; q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL) {
        size_t o = 0;
        if (strncmp(q, name, nl) != 0 || q[nl] != '=' || nth-- > 0)
            continue;
        for (const char *v = q + nl + 1; *v && *v != '&' && o + 1 < cap; v++) {
            if (*v == '+') {
                out[o++] = ' ';
            } else if (*v == '%' && isxdigit((unsigned char)v[1]) &&
                       isxdigit((unsigned char)v[2])) {
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

int origin_path_num(const struct origin_request *rq, const char *prefix, uint64_t *n)
{
    size_t pl = strlen(prefix);
    const char *d = rq->path + pl;
    uint64_t v = 0;

    if (strncmp(rq->path, prefix, pl) != 0 || !*d)
        return 0;
    for (; *d; d++) {
        if (!isdigit((unsigned char)*d) || v > (UINT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (uint64_t)(*d - '0');
    }
    *n = v;
    return 1;
}

void origin_log(const struct origin_request *rq, const char *fmt, ...)
{
    va_list ap;

    (void)rq;
    va_start(ap, fmt);
    log_line(fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------- reading one ---- */

/* Reads one request head into rq (stray CRLFs before it are skipped, RFC
 * 9112 2.2); 0, or -1 when the connection is done. */
static int read_head(struct origin_conn *c, struct request *rq, struct origin_bad *bad)
{
    size_t scanned = 0, hend = 0;

    for (;;) {
        while (scanned == 0 && c->start < c->end &&
               (c->buf[c->start] == '\r' || c->buf[c->start] == '\n'))
            c->start++;
        size_t avail = c->end - c->start;
        if (avail > 0) {
            size_t from = scanned > 3 ? scanned - 3 : 0; /* a CRLF split by a read */
            size_t e = find_head_end(c->buf + c->start + from, avail - from);
            if (e) {
                hend = from + e;
                break;
            }
            scanned = avail;
        }
        if (avail >= MAX_HEAD) {
            *bad = (struct origin_bad){431, "request head too large", 1};
            return -1;
        }
        if (conn_fill(c) <= 0)
            return -1; /* EOF or error */
    }
    rq->head = malloc(hend + 1);
    if (!rq->head)
        return -1;
    memcpy(rq->head, c->buf + c->start, hend);
    rq->head[hend] = '\0';
    rq->head_len = hend;
    c->start += hend;
    c->nreq++;
    return 0;
}

/* Reads a whole request into rq; 0, or -1 when the connection ends (*bad
 * set when the library is to answer). */
static int read_one(struct origin_conn *c, struct request *rq, const char *name,
                    struct origin_bad *bad)
{
    int has_body, rc = 0;

    if (read_head(c, rq, bad) < 0)
        return -1;
    parse_head(rq);
    split_target(rq);
    log_printf("origin %s conn=%" PRIu64 " req=%" PRIu64 " %s %s", name, c->id, c->nreq,
               rq->method[0] ? rq->method : "-", rq->target[0] ? rq->target : "-");
    if (rq->error) {
        *bad = (struct origin_bad){rq->error_status, rq->error, rq->http_minor};
        return -1;
    }
    has_body = rq->chunked || (rq->has_cl && rq->content_length > 0);
    if (has_body && rq->expect_continue && rq->http_minor == 1 && c->start == c->end &&
        origin_write_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
        return -1;
    if (!(rq->body = malloc(BODY_KEEP + 1)))
        return -1;
    if (rq->chunked)
        rc = consume_chunked(c, rq);
    else if (rq->has_cl)
        rc = consume_bytes(c, rq, rq->content_length);
    if (rc < 0) {
        *bad = (struct origin_bad){400, "bad or incomplete request body", rq->http_minor};
        return -1;
    }
    rq->body[rq->kept] = '\0';
    return 0;
}

struct origin_request *origin_request_read(struct origin_conn *c, const char *name, int port,
                                           struct origin_bad *bad)
{
    struct request *rq = calloc(1, sizeof(*rq));

    *bad = (struct origin_bad){0};
    if (!rq)
        return NULL;
    if (read_one(c, rq, name, bad) < 0) {
        origin_request_free(&rq->pub);
        return NULL;
    }
    rq->pub = (struct origin_request){.method = rq->method,
                                      .target = rq->target,
                                      .path = rq->path,
                                      .query = rq->query,
                                      .head = rq->head,
                                      .head_len = rq->head_len,
                                      .http_minor = rq->http_minor,
                                      .keep_alive = rq->keep_alive,
                                      .body = rq->body,
                                      .body_len = rq->count,
                                      .body_sum = rq->sum,
                                      .trailers = rq->trailers,
                                      .name = name,
                                      .port = port,
                                      .conn_id = c->id,
                                      .conn_request = c->nreq};
    return &rq->pub;
}

void origin_request_free(struct origin_request *pub)
{
    struct request *rq = (struct request *)pub; /* pub is its first member */

    if (rq) {
        free(rq->head);
        free(rq->body);
        free(rq);
    }
}

/*
 * Tiny blocking HTTP/1.1 client for Gatehouse tests.  See client.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#define TC_MAX_FD 65536
#define TC_READ_CHUNK (64 * 1024)
#define TC_MAX_LINE 8192

/* Per-fd store of received but not yet consumed bytes: buf[start, end). */
struct tc_slot {
    char *buf;
    size_t cap, start, end;
};

/* The table is only touched under tc_slots_lock, and a reader works on a
 * private copy of its slot, so no lock is held while blocking.  (The lock
 * also gives thread sanitizers the ordering between a tc_close in one thread
 * and a reuse of the same fd number in another.) */
static struct tc_slot tc_slots[TC_MAX_FD];
static pthread_mutex_t tc_slots_lock = PTHREAD_MUTEX_INITIALIZER;

static void slot_clear(int fd)
{
    if (fd < 0 || fd >= TC_MAX_FD)
        return;
    pthread_mutex_lock(&tc_slots_lock);
    char *buf = tc_slots[fd].buf;
    memset(&tc_slots[fd], 0, sizeof(tc_slots[fd]));
    pthread_mutex_unlock(&tc_slots_lock);
    free(buf);
}

/* Take fd's slot out of the table (leaving it empty). */
static struct tc_slot slot_take(int fd)
{
    pthread_mutex_lock(&tc_slots_lock);
    struct tc_slot s = tc_slots[fd];
    memset(&tc_slots[fd], 0, sizeof(tc_slots[fd]));
    pthread_mutex_unlock(&tc_slots_lock);
    return s;
}

/* Put a slot back into the table; an empty one just frees its buffer. */
static void slot_put(int fd, struct tc_slot *s)
{
    if (s->start == s->end) {
        free(s->buf);
        return;
    }
    pthread_mutex_lock(&tc_slots_lock);
    tc_slots[fd] = *s;
    pthread_mutex_unlock(&tc_slots_lock);
}

int tc_connect(const char *host, int port)
{
    char hostbuf[256];
    char portbuf[16];
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1;
    size_t hl = strlen(host);

    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof(hostbuf)) {
        memcpy(hostbuf, host + 1, hl - 2);
        hostbuf[hl - 2] = '\0';
        host = hostbuf;
    }
    snprintf(portbuf, sizeof(portbuf), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, portbuf, &hints, &res) != 0)
        return -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return -1;
    if (fd >= TC_MAX_FD) {
        close(fd);
        return -1;
    }

    int one = 1;
    struct timeval tv = { 10, 0 };
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    slot_clear(fd);             /* in case an earlier fd was not tc_close'd */
    return fd;
}

int tc_send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
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

void tc_close(int fd)
{
    if (fd < 0)
        return;
    slot_clear(fd);
    close(fd);
}

void tc_response_free(struct tc_response *r)
{
    free(r->body);
    r->body = NULL;
}

uint64_t tc_pattern_sum(uint64_t n)
{
    /* one full cycle 'a'..'z' sums to 26 * 97 + (0 + 1 + ... + 25) = 2847 */
    uint64_t full = n / 26, rem = n % 26;
    return full * 2847u + rem * 97u + (rem ? rem * (rem - 1) / 2 : 0);
}

/* ------------------------------------------------------------ reading ---- */

struct tc_reader {
    int fd;
    struct tc_slot *s;
    struct tc_response *r;
    int eof;
};

/* Receive more bytes into the slot.  1 = got bytes, 0 = EOF, -1 = error or
 * timeout (r->timed_out / r->closed set). */
static int rd_fill(struct tc_reader *rd)
{
    struct tc_slot *s = rd->s;
    if (rd->eof)
        return 0;
    if (s->start > 0) {
        memmove(s->buf, s->buf + s->start, s->end - s->start);
        s->end -= s->start;
        s->start = 0;
    }
    if (s->cap - s->end < TC_READ_CHUNK / 2) {
        size_t ncap = s->cap ? s->cap * 2 : TC_READ_CHUNK;
        while (ncap - s->end < TC_READ_CHUNK / 2)
            ncap *= 2;
        char *nb = realloc(s->buf, ncap);
        if (!nb)
            return -1;
        s->buf = nb;
        s->cap = ncap;
    }
    for (;;) {
        ssize_t n = recv(rd->fd, s->buf + s->end, s->cap - s->end, 0);
        if (n > 0) {
            s->end += (size_t)n;
            return 1;
        }
        if (n == 0) {
            rd->eof = 1;
            rd->r->closed = 1;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            rd->r->timed_out = 1;
        else
            rd->r->closed = 1;  /* reset or other hard error */
        return -1;
    }
}

struct tc_body {
    char *data;
    size_t cap;
};

static int body_add(struct tc_response *r, struct tc_body *b, const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += u[i];
    r->body_sum += sum;
    if (!r->discard_body) {
        if (r->body_len + n + 1 > b->cap) {
            size_t ncap = b->cap ? b->cap : 4096;
            while (ncap < r->body_len + n + 1)
                ncap *= 2;
            char *nd = realloc(b->data, ncap);
            if (!nd)
                return -1;
            b->data = nd;
            b->cap = ncap;
        }
        memcpy(b->data + r->body_len, p, n);
    }
    r->body_len += n;
    return 0;
}

/* Move n body bytes (n == UINT64_MAX: until EOF) from the connection into
 * the body.  0 = done, -1 = ended early (truncated), -2 = out of memory. */
static int rd_body_bytes(struct tc_reader *rd, struct tc_body *b, uint64_t n)
{
    struct tc_slot *s = rd->s;
    while (n > 0) {
        if (s->start == s->end) {
            int f = rd_fill(rd);
            if (f <= 0)
                return n == UINT64_MAX && f == 0 ? 0 : -1;
        }
        size_t avail = s->end - s->start;
        size_t take = (uint64_t)avail < n ? avail : (size_t)n;
        if (body_add(rd->r, b, s->buf + s->start, take) < 0)
            return -2;
        s->start += take;
        if (n != UINT64_MAX)
            n -= take;
    }
    return 0;
}

/* Read one line (through LF) into out without its line ending.  0 ok, -1 on
 * EOF/error/too long. */
static int rd_line(struct tc_reader *rd, char *out, size_t outsz)
{
    struct tc_slot *s = rd->s;
    for (;;) {
        char *nl = s->buf ? memchr(s->buf + s->start, '\n', s->end - s->start) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (s->buf + s->start));
            size_t keep = n;
            if (keep > 0 && s->buf[s->start + keep - 1] == '\r')
                keep--;
            if (keep >= outsz)
                return -1;
            memcpy(out, s->buf + s->start, keep);
            out[keep] = '\0';
            s->start += n + 1;
            return 0;
        }
        if (s->end - s->start >= TC_MAX_LINE)
            return -1;
        if (rd_fill(rd) <= 0)
            return -1;
    }
}

/* Decode a chunked body.  0 ok, -1 truncated/malformed, -2 out of memory. */
static int rd_chunked(struct tc_reader *rd, struct tc_body *b)
{
    char line[TC_MAX_LINE];
    for (;;) {
        if (rd_line(rd, line, sizeof(line)) < 0)
            return -1;
        uint64_t size = 0;
        int digits = 0;
        char *q = line;
        for (; isxdigit((unsigned char)*q); q++) {
            if (++digits > 15)
                return -1;
            int d = isdigit((unsigned char)*q) ? *q - '0'
                                               : tolower((unsigned char)*q) - 'a' + 10;
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
        int rc = rd_body_bytes(rd, b, size);
        if (rc < 0)
            return rc;
        if (rd_line(rd, line, sizeof(line)) < 0 || line[0] != '\0')
            return -1;
    }
    for (int i = 0; i < 1000; i++) {    /* trailer section */
        if (rd_line(rd, line, sizeof(line)) < 0)
            return -1;
        if (line[0] == '\0')
            return 0;
    }
    return -1;
}

/* Index just past the blank line ending a head in buf[0, len), or 0. */
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

/* Read a head into r->head.  0 ok, -1 failure. */
static int rd_head(struct tc_reader *rd)
{
    struct tc_slot *s = rd->s;
    struct tc_response *r = rd->r;
    size_t scanned = 0;
    for (;;) {
        size_t avail = s->end - s->start;
        if (avail > 0) {
            size_t from = scanned > 3 ? scanned - 3 : 0;
            size_t e = find_head_end(s->buf + s->start + from, avail - from);
            if (e) {
                size_t hl = from + e;
                if (hl >= sizeof(r->head))
                    return -1;
                memcpy(r->head, s->buf + s->start, hl);
                r->head[hl] = '\0';
                r->head_len = hl;
                s->start += hl;
                return 0;
            }
            scanned = avail;
            if (avail >= sizeof(r->head))
                return -1;
        }
        int f = rd_fill(rd);
        if (f == 0 && avail > 0)
            r->truncated = 1;
        if (f <= 0)
            return -1;
    }
}

static int list_has_token(const char *v, size_t len, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t st = i;
        while (i < len && v[i] != ',')
            i++;
        size_t e = i;
        while (e > st && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - st == tl && strncasecmp(v + st, tok, tl) == 0)
            return 1;
    }
    return 0;
}

/* Whether the last coding in a Transfer-Encoding list is "chunked". */
static int last_coding_chunked(const char *v, size_t len)
{
    size_t e = len;
    while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t' || v[e - 1] == ','))
        e--;
    size_t st = e;
    while (st > 0 && v[st - 1] != ',' && v[st - 1] != ' ' && v[st - 1] != '\t')
        st--;
    return e - st == 7 && strncasecmp(v + st, "chunked", 7) == 0;
}

/* Check for an EOF or reset that has already arrived, without blocking. */
static void peek_closed(struct tc_reader *rd)
{
    struct pollfd pfd = { rd->fd, POLLIN, 0 };
    char c;
    if (rd->eof || rd->s->start != rd->s->end)
        return;
    if (poll(&pfd, 1, 0) <= 0)
        return;
    ssize_t n = recv(rd->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        rd->r->closed = 1;
}

int tc_read_response(int fd, int is_head, struct tc_response *r)
{
    int discard = r->discard_body;
    memset(r, 0, sizeof(*r));
    r->discard_body = discard;
    if (fd < 0 || fd >= TC_MAX_FD)
        return -1;

    struct tc_slot slot = slot_take(fd);
    struct tc_reader rd = { fd, &slot, r, 0 };
    int minor;

    /* head; skip interim 1xx responses except 101 */
    for (;;) {
        if (rd_head(&rd) < 0)
            goto fail;
        const char *h = r->head;
        if (strncmp(h, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)h[7]) || h[8] != ' ' ||
            !isdigit((unsigned char)h[9]) || !isdigit((unsigned char)h[10]) ||
            !isdigit((unsigned char)h[11]) || (h[12] != ' ' && h[12] != '\r' && h[12] != '\n'))
            goto fail;
        minor = h[7] - '0';
        r->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
        if (r->status >= 200 || r->status == 101)
            break;
    }

    struct tc_body b = { NULL, 0 };
    size_t vl;
    const char *v;
    int keep_alive = minor >= 1;
    v = tc_header(r, "Connection", &vl);
    if (v && list_has_token(v, vl, "close"))
        keep_alive = 0;
    else if (v && list_has_token(v, vl, "keep-alive"))
        keep_alive = 1;
    if (!keep_alive)
        r->closed = 1;

    int rc = 0;
    if (is_head || r->status == 204 || r->status == 304 || r->status == 101) {
        /* no body */
    } else if ((v = tc_header(r, "Transfer-Encoding", &vl)) != NULL) {
        if (last_coding_chunked(v, vl)) {
            r->chunked = 1;
            rc = rd_chunked(&rd, &b);
        } else {
            rc = rd_body_bytes(&rd, &b, UINT64_MAX);
            r->closed = 1;
        }
    } else if ((v = tc_header(r, "Content-Length", &vl)) != NULL) {
        uint64_t n = 0;
        if (vl == 0 || vl > 18)
            goto fail;
        for (size_t i = 0; i < vl; i++) {
            if (!isdigit((unsigned char)v[i]))
                goto fail;
            n = n * 10 + (uint64_t)(v[i] - '0');
        }
        rc = rd_body_bytes(&rd, &b, n);
    } else {
        rc = rd_body_bytes(&rd, &b, UINT64_MAX);
        r->closed = 1;
    }
    if (rc == -2) {
        free(b.data);
        goto fail;
    }
    if (rc == -1) {
        r->truncated = 1;
        r->closed = 1;
    }
    if (!b.data) {
        b.data = malloc(1);
        if (!b.data)
            goto fail;
    }
    b.data[r->discard_body ? 0 : r->body_len] = '\0';
    r->body = b.data;
    if (r->truncated) {
        free(slot.buf);         /* the stream is unusable now */
    } else {
        peek_closed(&rd);
        slot_put(fd, &slot);
    }
    return 0;

fail:
    free(slot.buf);
    return -1;
}

const char *tc_header(const struct tc_response *r, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    const char *p = r->head;
    const char *end = r->head + r->head_len;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        return NULL;
    p = eol + 1;                        /* skip the status line */
    while (p < end) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *le = eol;
        if (le > p && le[-1] == '\r')
            le--;
        if (le == p)
            break;
        if ((size_t)(le - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = le;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (len)
                *len = (size_t)(ve - v);
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

int tc_request(const char *host, int port, const char *raw_request, struct tc_response *r)
{
    int fd = tc_connect(host, port);
    if (fd < 0)
        return -1;
    if (tc_send_all(fd, raw_request, strlen(raw_request)) < 0) {
        tc_close(fd);
        return -1;
    }
    int rc = tc_read_response(fd, strncmp(raw_request, "HEAD ", 5) == 0, r);
    tc_close(fd);
    return rc;
}

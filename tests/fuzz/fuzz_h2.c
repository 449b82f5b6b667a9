/* fuzz_h2.c — libFuzzer target: HTTP/2 frames from a client, through the
 * session (h2_session.c, on libnghttp2) and the translation of each
 * request into HTTP/1.1 (h2_head.c).  The input follows the client
 * preface; the first byte chooses how it is cut into reads.  Besides
 * memory safety, it checks the smuggling invariant: every request head
 * handed on is one HTTP/1.1 head that http1.c parses whole (no second
 * request, no bytes after it), or is refused; and each stream is answered
 * (a head and a body) and released as the server would. */
#include "buf.h"
#include "h2_session.h"
#include "http1.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* buf.c reads and writes descriptors through tls_io; no socket here. */
ssize_t io_read(int fd, void *p, size_t n);
ssize_t io_write(int fd, const void *p, size_t n);
ssize_t io_read(int fd, void *p, size_t n)
{
    (void)fd, (void)p, (void)n;
    abort();
}
ssize_t io_write(int fd, const void *p, size_t n)
{
    (void)fd, (void)p, (void)n;
    abort();
}

static void on_abuse(void *owner, enum stats_h2_abuse kind, const char *detail)
{
    (void)owner;
    if ((unsigned)kind >= H2_ABUSE_KINDS || !detail)
        abort();
}

static void on_malformed(void *owner, int32_t id, const char *why)
{
    (void)owner;
    (void)id;
    if (!why)
        abort();
}

static const struct h2_session_hooks hooks = {on_abuse, on_malformed};

/* The translated head must be one request that parses whole. */
static void check_head(const struct h2_stream *st)
{
    static const struct http1_limits lim = {.max_line = 8192, .max_head = 16384, .max_fields = 100};
    struct http_head h;
    int rc;

    if (st->refuse || !st->head)
        return;
    memset(&h, 0, sizeof(h));
    rc = http1_parse_request(buf_head(st->head), buf_len(st->head), &lim, &h);
    if (rc == HTTP1_PARTIAL || (rc > 0 && (size_t)rc != buf_len(st->head)))
        abort();
}

/* Serves what the session hands out: a complete request gets a small
 * answer; its request body is taken; a closed stream is let go. */
static void serve(struct h2_session *s)
{
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
    struct h2_stream *st;

    while ((st = h2_session_next(s)) != NULL) {
        if (st->body && buf_len(st->body)) {
            h2_stream_consume(st, buf_len(st->body));
            buf_consume(st->body, buf_len(st->body));
        }
        if (st->closed) {
            st->user = NULL;
            h2_stream_release(st);
            continue;
        }
        if (st->head_done && !st->user) {
            check_head(st);
            st->user = st;
            if (!st->out)
                st->out = buf_get();
            buf_append(st->out, answer, sizeof(answer) - 1);
            if (h2_stream_respond(st, 0, 0) == GH_OK)
                h2_stream_end(st, NULL);
            h2_stream_release(st);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    struct h2_limits lim = {.max_streams = 8, .stream_window = 65535, .max_continuations = 8,
                            .max_head = 16384, .max_fields = 100, .reset_budget = 20,
                            .flood_budget = 50, .settings_timeout = 10000, .send_timeout = 1000};
    struct h2_session *s = h2_session_new(&lim, &hooks, NULL, NULL, 1);
    struct buf *out = buf_get_big();
    size_t step = len ? (size_t)data[0] % 64 + 1 : 1, off = len ? 1 : 0;
    uint64_t now = 1;
    int ok = h2_session_recv(s, preface, sizeof(preface) - 1, now) == GH_OK;

    while (ok && off < len) {
        size_t n = len - off < step ? len - off : step;
        ok = h2_session_recv(s, (const char *)data + off, n, ++now) == GH_OK;
        off += n;
        serve(s);
        while (h2_session_send(s, out) == GH_AGAIN)
            buf_consume(out, buf_len(out));
        buf_consume(out, buf_len(out));
        if (now % 7 == 0)
            h2_session_expire(s, now);
    }
    serve(s);
    h2_session_send(s, out);
    buf_put(out);
    h2_session_free(s);
    return 0;
}

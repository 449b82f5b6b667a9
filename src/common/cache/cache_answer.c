/* cache_answer.c — answering a request from a stored object: the stored
 * head with Age and Cache-Status, a byte range (206, 416), the client's own
 * conditional (304), HEAD without the body.  The body is written straight
 * from the object's memory, which the exchange holds a reference to until
 * it ends. */
#include "cache_xfer_int.h"
#include "log.h"
#include "metrics.h"
#include "exchange_int.h"
#include "util.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Counts an answer the cache took part in, by result, for /metrics. */
static void cache_count_answer(const char *result)
{
    char l[64];

    metric_inc(metrics_counter("gatehouse_cache_answers_total",
                               "Answers the cache took part in, by result (hit, stale, "
                               "revalidated, miss, bypass).",
                               metrics_labels(l, sizeof(l), "result", result, NULL)));
}

void cache_add_status(struct exchange *ex, const struct cache_xfer *cx, int fwd_status,
                      int stored, int hit)
{
    struct cache_status cs = {0};
    char v[256];

    cs.fwd = hit ? CACHE_FWD_NONE : cx->fwd;
    cs.fwd_status = hit ? 0 : fwd_status;
    cs.stored = stored;
    cs.detail = cx->detail;
    if (hit || cx->stored) {
        cs.has_ttl = 1;
        cs.ttl = cx->v.ttl;
    }
    if (cache_status_value(CACHE_STATUS_NAME, &cs, v, sizeof(v)) > 0)
        exchange_add_response_field(ex, "Cache-Status", v, strlen(v));
    cache_count_answer(hit ? (cs.has_ttl && cs.ttl < 0 ? "stale" : "hit")
                           : cs.fwd == CACHE_FWD_STALE    ? "revalidated"
                           : cs.fwd == CACHE_FWD_BYPASS || cs.fwd == CACHE_FWD_METHOD ? "bypass"
                                                                                     : "miss");
}

/* A head for this answer: status line `status`, the fields of h but those
 * named in drop (NULL-terminated), then `extra` lines.  Malloc'd. */
static char *synth_head(int status, const struct http_head *h, const char *base,
                        const char *const *drop, const char *extra, size_t *len)
{
    size_t cap = h->head_len + strlen(extra) + 64, n;
    char *out = xmalloc(cap);

    n = gh_fmt(out, cap, "HTTP/1.1 %d %s\r\n", status, exchange_reason(status));
    for (unsigned i = 0; i < h->nfields; i++) {
        const struct http_field *f = &h->fields[i];
        int skip = 0;
        for (const char *const *d = drop; *d && !skip; d++)
            skip = gh_strcaseeq(base + f->name.off, f->name.len, *d);
        if (skip)
            continue;
        memcpy(out + n, base + f->name.off, f->name.len);
        n += f->name.len;
        memcpy(out + n, ": ", 2);
        n += 2;
        memcpy(out + n, base + f->value.off, f->value.len);
        n += f->value.len;
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    n += gh_fmt(out + n, cap - n, "%s\r\n", extra);
    *len = n;
    return out;
}

/* Parses a single "bytes=first-last" range against a body of size bytes:
 * 1 with [*from, *to] (inclusive), 0 when the field is absent, several
 * ranges or not understood (the whole body is sent), -1 when unsatisfiable. */
static int byte_range(const struct exchange *ex, uint64_t size, uint64_t *from, uint64_t *to)
{
    char v[128], *p, *dash, *end;
    unsigned long long a, b;

    if (exchange_field(ex, "range", v, sizeof(v)) < 0 || strncasecmp(v, "bytes=", 6) != 0)
        return 0;
    p = v + 6;
    while (*p == ' ')
        p++;
    if (strchr(p, ',') || !(dash = strchr(p, '-')))
        return 0;
    if (dash == p) { /* the last n bytes */
        b = strtoull(dash + 1, &end, 10);
        if (end == dash + 1 || *end || b == 0)
            return b == 0 && end != dash + 1 && !*end ? -1 : 0;
        *from = b >= size ? 0 : size - b;
        *to = size ? size - 1 : 0;
        return size ? 1 : -1;
    }
    a = strtoull(p, &end, 10);
    if (end != dash)
        return 0;
    if (dash[1] == '\0') {
        b = size ? size - 1 : 0;
    } else {
        b = strtoull(dash + 1, &end, 10);
        if (*end || b < a)
            return 0;
        if (b >= size)
            b = size ? size - 1 : 0;
    }
    if (a >= size)
        return -1;
    *from = a;
    *to = b;
    return 1;
}

/* If-Range: the range applies only when the validator names the stored
 * representation (a strong ETag, or its exact Last-Modified date). */
static int if_range_holds(const struct exchange *ex, const struct http_head *h, const char *base)
{
    char v[256];
    int n = exchange_field(ex, "if-range", v, sizeof(v)), i;
    const char *name = v[0] == '"' ? "etag" : "last-modified";

    if (n < 0)
        return 1;
    if (v[0] == 'W' && v[1] == '/')
        return 0; /* a weak tag never validates a range */
    i = http1_find(h, base, name, 0);
    return i >= 0 && h->fields[i].value.len == (uint32_t)n &&
           memcmp(base + h->fields[i].value.off, v, (size_t)n) == 0;
}

static const char *const drop_for_304[] = {"content-length", "content-range", "transfer-encoding",
                                           NULL};
static const char *const drop_for_206[] = {"content-length", "content-range", NULL};

int cache_answer(struct exchange *ex, struct cache_xfer *cx, struct cache_ref *r, int fwd_status,
                 int stored, int hit)
{
    const struct cache_obj *o = cache_ref_obj(r);
    const char *base = o->head;
    struct http_head *h = &cx->tmp;
    int64_t now = (int64_t)time(NULL);
    uint64_t size = o->body ? o->body->len : 0, from = 0, to = size ? size - 1 : 0;
    int status, ranged = 0, fd = -1;
    char age[24], extra[128];
    size_t len;

    if (o->body && o->body->path && o->body->len && !ex->req_is_head) {
        fd = open(o->body->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            log_warn("cache: disk object %s: %s", o->body->path, strerror(errno));
            cache_ref_release(r);
            return 0;
        }
    }
    if (cx->stored && cx->stored != r)
        cache_ref_release(cx->stored);
    cx->stored = r;
    cache_add_status(ex, cx, fwd_status, stored, hit);
    if (http1_parse_response(o->head, o->head_len, &ex->cfg->limits, ex->req_is_head, h) <= 0) {
        exchange_error(ex, 500, "cache: stored head unreadable");
        goto done;
    }
    status = h->status;
    free(cx->synth);
    cx->synth = NULL;
    if (cache_not_modified(&ex->req, exchange_base(ex), h, base, now)) {
        cx->synth = synth_head(304, h, base, drop_for_304, "", &len);
        status = 304;
    } else if (status == 200 && !ex->req_is_head && cx->rq.has_range &&
               if_range_holds(ex, h, base)) {
        ranged = byte_range(ex, size, &from, &to);
        if (ranged < 0) {
            gh_fmt(extra, sizeof(extra), "Content-Range: bytes */%llu\r\n",
                   (unsigned long long)size);
            exchange_set_label(ex, "cache");
            exchange_respond(ex, 416, "text/plain; charset=utf-8", extra,
                             "range not satisfiable\n", 22);
            goto done;
        }
        if (ranged > 0) {
            gh_fmt(extra, sizeof(extra), "Content-Range: bytes %llu-%llu/%llu\r\nContent-Length: %llu\r\n",
                   (unsigned long long)from, (unsigned long long)to, (unsigned long long)size,
                   (unsigned long long)(to - from + 1));
            cx->synth = synth_head(206, h, base, drop_for_206, extra, &len);
            status = 206;
        }
    }
    if (cx->synth) {
        base = cx->synth;
        if (http1_parse_response(cx->synth, len, &ex->cfg->limits, ex->req_is_head, h) <= 0) {
            exchange_error(ex, 500, "cache: answer head too large");
            goto done;
        }
    }
    ex->resp = *h;
    ex->resp_base = base;
    exchange_remove_response_field(ex, "age");
    cache_age_value(cx->v.age, age, sizeof(age));
    exchange_add_response_field(ex, "Age", age, strlen(age));
    ex->status = status;
    if (exchange_write_response_head(ex, client_out(ex), ex->client_close || ex->conn->w->draining) <
        0) {
        ex->resp_base = NULL;
        exchange_error(ex, 500, "cache: answer head too large");
        goto done;
    }
    ex->resp_base = NULL;
    exchange_set_label(ex, "cache");
    ex->decision = DECIDE_LOCAL;
    if (ex->req_is_head || status == 304 || !size)
        goto done;
    if (fd >= 0) { /* a disk hit: sendfile from the object's file */
        lseek(fd, (off_t)(o->body->off + from), SEEK_SET);
        ex->local_fd = fd;
        ex->local_left = to - from + 1;
        ex->resp_body_bytes = to - from + 1;
        return 1;
    }
    ex->local_borrowed = 1;
    ex->local_mem = o->body->data;
    ex->local_mem_off = (size_t)from;
    ex->local_mem_len = (size_t)to + 1;
    ex->resp_body_bytes = to - from + 1;
    return 1;
done:
    if (fd >= 0)
        close(fd);
    return 1;
}

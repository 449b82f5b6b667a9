/* exchange_compress.c — when an exchange's response is compressed: the
 * request's side (Accept-Encoding, HEAD, Range) read while its head is
 * there, the response's side (status, type, length, Content-Encoding,
 * no-transform) once the upstream's head is parsed.  The head's fields
 * and the framing are exchange_head.c's, the encoding body.c's. */
#include "compress.h"
#include "exchange.h"
#include "exchange_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Accept-Encoding fields at most looked at (a client sends one). */
#define AE_MAX 8

void exchange_compress(struct exchange *ex, const struct compress_conf *cc)
{
    const struct http_head *r = &ex->req;
    const char *base = exchange_base(ex), *vals[AE_MAX];
    size_t lens[AE_MAX];
    unsigned n = 0;

    ex->zconf = NULL;
    if (!cc || !cc->enabled || ex->req_is_head || http1_find(r, base, "range", 0) >= 0)
        return;
    for (int i = http1_find(r, base, "accept-encoding", 0); i >= 0 && n < AE_MAX;
         i = http1_find(r, base, "accept-encoding", i + 1), n++) {
        vals[n] = base + r->fields[i].value.off;
        lens[n] = r->fields[i].value.len;
    }
    ex->zconf = cc;
    ex->zwant = (uint8_t)compress_negotiate(vals, lens, n, cc);
    {
        struct compress_conf gz = {.prefer = {COMPRESS_GZIP}, .nprefer = 1};
        ex->zgzip_ok = compress_negotiate(vals, lens, n, &gz) == COMPRESS_GZIP;
    }
}

/* Whether any field `name` of h lists token (case ignored). */
static int lists(const struct http_head *h, const char *base, const char *name, const char *token)
{
    for (int i = http1_find(h, base, name, 0); i >= 0; i = http1_find(h, base, name, i + 1))
        if (http1_list_has(base + h->fields[i].value.off, h->fields[i].value.len, token))
            return 1;
    return 0;
}

/* Whether the response may be transformed at all: the rules that hold
 * whatever the client accepts. */
static int transformable(const struct exchange *ex, const struct http_head *h, const char *base)
{
    const struct compress_conf *cc = ex->zconf;
    int ct = http1_find(h, base, "content-type", 0);

    if (h->status < 200 || h->status == 204 || h->status == 206 || h->status == 304)
        return 0;
    if (h->framing == HTTP_BODY_NONE)
        return 0;
    if (http1_find(h, base, "content-encoding", 0) >= 0) /* already encoded */
        return 0;
    if (lists(h, base, "cache-control", "no-transform"))
        return 0;
    if (h->framing == HTTP_BODY_LENGTH && h->content_length < cc->min_length)
        return 0;
    return ct >= 0 && compress_type_ok(cc, base + h->fields[ct].value.off, h->fields[ct].value.len);
}

/* A gzip body for a client that does not take gzip: decoded for it (the
 * rules that always hold, checked by the caller, apart). */
static int to_decode(const struct exchange *ex, const struct http_head *h, const char *base)
{
    int ce = http1_find(h, base, "content-encoding", 0);

    if (ex->zgzip_ok || ce < 0 || http1_find(h, base, "content-encoding", ce + 1) >= 0)
        return 0;
    if (!gh_strcaseeq(base + h->fields[ce].value.off, h->fields[ce].value.len, "gzip") &&
        !gh_strcaseeq(base + h->fields[ce].value.off, h->fields[ce].value.len, "x-gzip"))
        return 0;
    return h->status >= 200 && h->status != 204 && h->status != 206 && h->status != 304 &&
           h->framing != HTTP_BODY_NONE && !lists(h, base, "cache-control", "no-transform");
}

void exchange_compress_response(struct exchange *ex)
{
    const struct http_head *h = &ex->resp;
    const char *base = exchange_response_base(ex);

    ex->zalg = COMPRESS_IDENTITY;
    ex->zvary = 0;
    ex->zdecode = 0;
    if (ex->zconf && to_decode(ex, h, base)) {
        ex->zdecode = 1;
        ex->zvary = !lists(h, base, "vary", "accept-encoding") && !lists(h, base, "vary", "*");
        return;
    }
    if (!ex->zconf || !transformable(ex, h, base))
        return;
    /* from here the body depends on Accept-Encoding, whatever was chosen */
    ex->zvary = !lists(h, base, "vary", "accept-encoding") && !lists(h, base, "vary", "*");
    ex->zalg = ex->zwant;
}

/* Whether the head line at p (up to its CRLF) is a field the transformed
 * body replaces. */
static int replaced_line(const struct exchange *ex, const char *p)
{
    return strncasecmp(p, "content-length:", 15) == 0 || strncasecmp(p, "etag:", 5) == 0 ||
           (ex->zdecode && strncasecmp(p, "content-encoding:", 17) == 0);
}

char *exchange_compress_stored_head(const struct exchange *ex, char *head, size_t *len)
{
    const struct http_head *h = &ex->resp;
    const char *base = exchange_response_base(ex), *p = head, *end = head + *len;
    size_t cap = *len + 256, n = 0;
    char *out = xmalloc(cap);
    int et = http1_find(h, base, "etag", 0), changed = ex->zalg || ex->zdecode;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t l = eol ? (size_t)(eol + 1 - p) : (size_t)(end - p);
        if (l <= 2) /* the blank line */
            break;
        if (!(changed && p != head && replaced_line(ex, p))) {
            memcpy(out + n, p, l);
            n += l;
        }
        p += l;
    }
    if (ex->zvary)
        n += gh_fmt(out + n, cap - n, "Vary: Accept-Encoding\r\n");
    if (ex->zalg)
        n += gh_fmt(out + n, cap - n, "Content-Encoding: %s\r\n",
                    compress_name((enum compress_alg)ex->zalg));
    if (changed && et >= 0 && h->fields[et].value.len < 200) {
        const char *v = base + h->fields[et].value.off;
        size_t vl = h->fields[et].value.len;
        n += gh_fmt(out + n, cap - n, "ETag: %s%.*s\r\n", vl >= 2 && v[0] == 'W' && v[1] == '/' ? "" : "W/",
                    (int)vl, v);
    }
    n += gh_fmt(out + n, cap - n, "\r\n");
    free(head);
    *len = n;
    return out;
}

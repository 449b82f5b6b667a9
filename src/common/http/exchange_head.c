/* exchange_head.c — serialising an exchange's heads: the request head for
 * the upstream, the final, interim and 101 response heads for the client.
 * Applies the exchange's field edits, drops hop-by-hop fields and what no
 * client passes on (hop.h), and adds Via and the loop mark.  Split out of
 * exchange.c, which keeps what front-ends ask of an exchange. */
#include "compress.h"
#include "exchange_int.h"
#include "hop.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
/* ---- serialising heads ---- */

/* The elements of a head's Connection fields, cut once per head rather
 * than once per field copied, with a mask of their lengths (mod 64) that
 * most fields' names miss.  Up to CONN_MAX elements; a head with more is
 * looked through again for each field (n = -1). */
#define CONN_MAX 16
struct conn_fields {
    int n;
    uint64_t lengths;
    struct {
        const char *p;
        size_t len;
    } tok[CONN_MAX];
};

static void find_connection(const struct http_head *h, const char *base, struct conn_fields *cf)
{
    cf->n = 0;
    cf->lengths = 0;
    for (int i = http1_find(h, base, "connection", 0); i >= 0; i = http1_find(h, base, "connection", i + 1)) {
        const char *v = base + h->fields[i].value.off;
        size_t pos = 0, s, len;

        while (http1_list_next(v, h->fields[i].value.len, &pos, &s, &len)) {
            if (len == 0)
                continue;
            if (cf->n == CONN_MAX) {
                cf->n = -1;
                return;
            }
            cf->tok[cf->n].p = v + s;
            cf->tok[cf->n++].len = len;
            cf->lengths |= (uint64_t)1 << (len & 63);
        }
    }
}

/* ASCII case-insensitive equality of a[0..n) and b[0..n). */
static int same_token(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x != y && (x | 0x20) != (y | 0x20))
            return 0;
        if (x != y && ((x | 0x20) < 'a' || (x | 0x20) > 'z'))
            return 0;
    }
    return 1;
}

/* Whether the field name at (name, len) is listed in a Connection field. */
static int listed_in_connection(const struct http_head *h, const char *base, const struct conn_fields *cf,
                                const char *name, size_t len)
{
    char tmp[128];

    if (len >= sizeof(tmp))
        return 0;
    if (cf->n >= 0) {
        if (!(cf->lengths >> (len & 63) & 1))
            return 0;
        for (int k = 0; k < cf->n; k++)
            if (cf->tok[k].len == len && same_token(cf->tok[k].p, name, len))
                return 1;
        return 0;
    }
    memcpy(tmp, name, len);
    tmp[len] = '\0';
    for (int i = http1_find(h, base, "connection", 0); i >= 0; i = http1_find(h, base, "connection", i + 1))
        if (http1_list_has(base + h->fields[i].value.off, h->fields[i].value.len, tmp))
            return 1;
    return 0;
}

/* Which edits copy_fields() applies. */
#define EDITS_NONE (-1)
#define EDITS_REQUEST 0
#define EDITS_RESPONSE 1

static int removed_by_edit(const struct exchange *ex, int side, const char *name, size_t len)
{
    for (unsigned i = 0; i < ex->nedits; i++) {
        const struct field_edit *e = &ex->edits[i];
        if (!e->add && e->response == side && e->name_len == len &&
            strncasecmp(ex->arena + e->name_off, name, len) == 0)
            return 1;
    }
    return 0;
}

/* The lengths (mod 64) of the names one side's edits remove, as bits: a
 * field whose length has no bit is removed by none of them, and the edits
 * (two dozen on a cached listener's request) are not searched for it. */
static uint64_t removed_lengths(const struct exchange *ex, int side)
{
    uint64_t m = 0;

    for (unsigned i = 0; i < ex->nedits; i++)
        if (!ex->edits[i].add && ex->edits[i].response == side)
            m |= (uint64_t)1 << (ex->edits[i].name_len & 63);
    return m;
}

/* "name: value\r\n" at the end of out, which has room for it. */
static void append_line(struct buf *out, const char *name, size_t nlen, const char *value, size_t vlen)
{
    char *p = buf_tail(out);

    memcpy(p, name, nlen);
    p[nlen] = ':';
    p[nlen + 1] = ' ';
    memcpy(p + nlen + 2, value, vlen);
    p[nlen + 2 + vlen] = '\r';
    p[nlen + 3 + vlen] = '\n';
    out->end += (uint32_t)(nlen + vlen + 4);
}

/* Writes the added fields of one side. */
static int put_added(const struct exchange *ex, int side, struct buf *out);

/* Copies the end-to-end fields of h (hop-by-hop, framing and Connection-listed
 * fields are dropped). Returns 0, or -1 when out is full. */
static int copy_fields(const struct exchange *ex, const struct http_head *h, const char *base,
                       struct buf *out, int side)
{
    struct conn_fields cf;
    uint64_t removed = side != EDITS_NONE ? removed_lengths(ex, side) : 0;

    find_connection(h, base, &cf);

    for (unsigned i = 0; i < h->nfields; i++) {
        const struct http_field *f = &h->fields[i];
        const char *name = base + f->name.off;
        if (http1_is_hop_by_hop(name, f->name.len) || gh_strcaseeq(name, f->name.len, "content-length") ||
            (cf.n != 0 && listed_in_connection(h, base, &cf, name, f->name.len)) ||
            (side == EDITS_REQUEST && (hop_dropped(name, f->name.len) ||
                                       (ex->drop && ex->drop(name, f->name.len)))) ||
            ((removed >> (f->name.len & 63) & 1) && removed_by_edit(ex, side, name, f->name.len)) ||
            (side == EDITS_RESPONSE && (ex->zalg || ex->zdecode) &&
             gh_strcaseeq(name, f->name.len, "etag")) ||
            (side == EDITS_RESPONSE && ex->zdecode &&
             gh_strcaseeq(name, f->name.len, "content-encoding")))
            continue;
        if (buf_room(out) < (size_t)f->name.len + f->value.len + 4)
            buf_compact(out);
        if (buf_room(out) < (size_t)f->name.len + f->value.len + 4)
            return -1;
        append_line(out, name, f->name.len, base + f->value.off, f->value.len);
    }
    return 0;
}

static int put(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(struct buf *out, const char *fmt, ...)
{
    va_list ap;
    int n;

    buf_compact(out);
    va_start(ap, fmt);
    n = vsnprintf(buf_tail(out), buf_room(out), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= buf_room(out))
        return -1;
    out->end += (uint32_t)n;
    return 0;
}

/* Appends n bytes; -1 when out cannot hold them.  The head writers below
 * use these rather than put() on every request: formatting with vsnprintf
 * was 3.5 % of a proxied request's CPU. */
static int put_mem(struct buf *out, const char *p, size_t n)
{
    if (buf_room(out) < n)
        buf_compact(out);
    if (buf_room(out) < n)
        return -1;
    buf_append(out, p, n);
    return 0;
}

#define put_lit(out, lit) put_mem((out), (lit), sizeof(lit) - 1)

static int put_u64(struct buf *out, uint64_t v)
{
    char t[24], *p = t + sizeof(t);

    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    return put_mem(out, p, (size_t)(t + sizeof(t) - p));
}

/* "name: value\r\n" */
static int put_field(struct buf *out, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (buf_room(out) < nlen + vlen + 4)
        buf_compact(out);
    if (buf_room(out) < nlen + vlen + 4)
        return -1;
    append_line(out, name, nlen, value, vlen);
    return 0;
}

/* "Via: 1.x name\r\n" */
static int put_via(struct buf *out, int minor, const char *name)
{
    char v[10] = "Via: 1.0 ";

    v[7] = (char)('0' + (minor ? 1 : 0));
    return put_mem(out, v, 9) | put_mem(out, name, strlen(name)) | put_lit(out, "\r\n");
}

/* Towards a parent proxy: the loop marks the request arrived with, then
 * ours, all named in Connection so that a proxy which is not a gatehouse
 * drops them instead of passing them on to origins (RFC 9110 7.6.1). */
static int put_hop_marks(const struct exchange *ex, struct buf *out)
{
    const struct http_head *r = &ex->req;
    const char *base = exchange_base(ex);
    int rc = 0;

    for (unsigned i = 0; i < r->nfields; i++)
        if (hop_is_mark(base + r->fields[i].name.off, r->fields[i].name.len))
            rc |= put_field(out, HOP_FIELD, sizeof(HOP_FIELD) - 1, base + r->fields[i].value.off,
                            r->fields[i].value.len);
    return rc | put_field(out, HOP_FIELD, sizeof(HOP_FIELD) - 1, hop_token(), 32) |
           put_lit(out, "Connection: " HOP_FIELD "\r\n");
}

static int put_added(const struct exchange *ex, int side, struct buf *out)
{
    int rc = 0;

    for (unsigned i = 0; i < ex->nedits; i++) {
        const struct field_edit *e = &ex->edits[i];
        if (e->add && e->response == side)
            rc |= put_field(out, ex->arena + e->name_off, e->name_len, ex->arena + e->value_off,
                            e->value_len);
    }
    return rc;
}

int exchange_write_request_head(struct exchange *ex, struct buf *out)
{
    const struct http_head *r = &ex->req;
    const char *base = exchange_base(ex);
    int rc, up;

    rc = put_mem(out, base + r->method.off, r->method.len) | put_lit(out, " ");
    if (ex->peer_hop)
        rc |= put_mem(out, ex->arena + ex->peer_target_off, (size_t)ex->peer_target_len);
    else if (ex->target_off >= 0)
        rc |= put_mem(out, ex->arena + ex->target_off, (size_t)ex->target_len);
    else
        rc |= put_mem(out, base + r->target.off, r->target.len);
    rc |= put_lit(out, " HTTP/1.1\r\n");
    if (rc < 0 || copy_fields(ex, r, base, out, EDITS_REQUEST) < 0)
        return -1;
    if (!(r->flags & HTTP_F_HAS_HOST) && !removed_by_edit(ex, EDITS_REQUEST, "host", 4))
        rc |= put(out, strchr(ex->host, ':') ? "Host: [%s]:%u\r\n" : "Host: %s:%u\r\n", ex->host,
                  ex->port);
    if (!ex->omit_via)
        rc |= put_via(out, r->minor_version, ex->cfg->via_name);
    /* A protocol upgrade (WebSocket) is asked for again, hop by hop. */
    if ((r->flags & HTTP_F_CONN_UPGRADE) && (r->flags & HTTP_F_HAS_UPGRADE) &&
        r->minor_version >= 1 && (up = http1_find(r, base, "upgrade", 0)) >= 0) {
        rc |= put(out, "Connection: upgrade\r\nUpgrade: %.*s\r\n", (int)r->fields[up].value.len,
                  base + r->fields[up].value.off);
        ex->upgrade = 1;
    }
    /* HTTP/2 clients say "te: trailers" (gRPC's do); the upstream hears it
     * hop by hop, since the trailers it sends are passed on */
    if (ex->te_trailers)
        rc |= put_lit(out, "TE: trailers\r\nConnection: TE\r\n");
    rc |= put_added(ex, EDITS_REQUEST, out);
    if (ex->to_proxy)
        rc |= put_hop_marks(ex, out);
    if (ex->peer_hop)
        rc |= put_mem(out, ex->arena + ex->peer_mark_off, (size_t)ex->peer_mark_len) |
              put_lit(out, "\r\n");
    if (r->framing == HTTP_BODY_LENGTH)
        rc |= put_lit(out, "Content-Length: ") | put_u64(out, r->content_length) | put_lit(out, "\r\n");
    else if (r->framing == HTTP_BODY_CHUNKED)
        rc |= put_lit(out, "Transfer-Encoding: chunked\r\n");
    rc |= put_lit(out, "\r\n");
    return rc ? -1 : 0;
}

/* A compressed body's fields: its coding, Vary, and the ETag made weak
 * (the bytes differ from the identity's, RFC 9110 8.8.3); a response that
 * depends on Accept-Encoding says so even when left alone. */
static int put_compress_fields(const struct exchange *ex, const struct http_head *h,
                               const char *base, struct buf *out)
{
    const char *name = compress_name((enum compress_alg)ex->zalg);
    int rc = 0, et;

    if (ex->zvary)
        rc |= put_lit(out, "Vary: Accept-Encoding\r\n");
    if (!ex->zalg && !ex->zdecode)
        return rc;
    if (ex->zalg)
        rc |= put_lit(out, "Content-Encoding: ") | put_mem(out, name, strlen(name)) |
              put_lit(out, "\r\n");
    if ((et = http1_find(h, base, "etag", 0)) >= 0) {
        const char *v = base + h->fields[et].value.off;
        size_t vlen = h->fields[et].value.len;
        rc |= put_lit(out, "ETag: ");
        if (vlen < 2 || v[0] != 'W' || v[1] != '/')
            rc |= put_lit(out, "W/");
        rc |= put_mem(out, v, vlen) | put_lit(out, "\r\n");
    }
    return rc;
}

int exchange_write_response_head(struct exchange *ex, struct buf *out, int client_close)
{
    const struct http_head *h = &ex->resp;
    const char *base = exchange_response_base(ex);
    int chunk_out = 0, rc, cl, ct = http1_find(h, base, "content-type", 0);

    if (ct >= 0)
        exchange_note_type(ex, base + h->fields[ct].value.off, h->fields[ct].value.len);
    /* Client framing: keep the connection where the body's end can be told
     * (a compressed body's length is known only at its end). */
    if (h->framing == HTTP_BODY_CHUNKED || h->framing == HTTP_BODY_CLOSE || ex->zalg ||
        ex->zdecode) {
        if (ex->req.minor_version >= 1)
            chunk_out = 1;
        else
            client_close = 1;
    }
    ex->client_close = client_close;
    rc = put_lit(out, "HTTP/1.1 ") | put_u64(out, (uint64_t)h->status) | put_lit(out, " ") |
         put_mem(out, base + h->reason.off, h->reason.len) | put_lit(out, "\r\n");
    if (rc < 0 || copy_fields(ex, h, base, out, EDITS_RESPONSE) < 0)
        return -1;
    rc |= put_added(ex, EDITS_RESPONSE, out);
    rc |= put_via(out, h->minor_version, ex->cfg->via_name);
    rc |= put_compress_fields(ex, h, base, out);
    if (ex->zalg || ex->zdecode) {
        if (chunk_out)
            rc |= put_lit(out, "Transfer-Encoding: chunked\r\n");
    } else if (h->framing == HTTP_BODY_LENGTH)
        rc |= put_lit(out, "Content-Length: ") | put_u64(out, h->content_length) | put_lit(out, "\r\n");
    else if (h->framing == HTTP_BODY_NONE && (cl = http1_find(h, base, "content-length", 0)) >= 0)
        rc |= put_field(out, "Content-Length", 14, base + h->fields[cl].value.off,
                        h->fields[cl].value.len);
    else if (chunk_out)
        rc |= put_lit(out, "Transfer-Encoding: chunked\r\n");
    if (client_close)
        rc |= put_lit(out, "Connection: close\r\n");
    else if (ex->req.minor_version == 0)
        rc |= put_lit(out, "Connection: keep-alive\r\n");
    rc |= put_lit(out, "\r\n");
    body_init(&ex->respb, h->framing, h->content_length, chunk_out);
    ex->respb.big_ok = 1; /* a response body: no head is read after it */
    ex->respb.splice = 1; /* socket to socket when nothing transforms it (relay.h) */
    if (ex->zalg || ex->zdecode) {
        ex->respb.chunk_out = chunk_out; /* even for an empty body: it encodes to bytes */
        ex->respb.z = ex->zdecode ? compress_dec_new(ex->zconf->max_ratio)
                                  : compress_enc_new((enum compress_alg)ex->zalg,
                                                     ex->zconf->level[ex->zalg]);
    }
    return rc ? -1 : 0;
}

/* An interim response is relayed with the response's field removals (what
 * the front-end hides from every response) but not its additions, which
 * belong to the final response (a Set-Cookie, Strict-Transport-Security). */
int exchange_write_interim_head(struct exchange *ex, struct buf *out)
{
    const struct http_head *h = &ex->resp;
    const char *base = exchange_response_base(ex);
    int rc;

    rc = put_lit(out, "HTTP/1.1 ") | put_u64(out, (uint64_t)h->status) | put_lit(out, " ") |
         put_mem(out, base + h->reason.off, h->reason.len) | put_lit(out, "\r\n");
    if (rc < 0 || copy_fields(ex, h, base, out, EDITS_RESPONSE) < 0)
        return -1;
    rc |= put_via(out, h->minor_version, ex->cfg->via_name);
    rc |= put_lit(out, "\r\n");
    return rc ? -1 : 0;
}

int exchange_write_switch_head(struct exchange *ex, struct buf *out)
{
    const struct http_head *h = &ex->resp;
    const char *base = buf_head(ex->up->in);
    int rc, up = http1_find(h, base, "upgrade", 0);

    if (up < 0)
        return -1;
    rc = put(out, "HTTP/1.1 101 %.*s\r\n", (int)h->reason.len, base + h->reason.off);
    if (rc < 0 || copy_fields(ex, h, base, out, EDITS_RESPONSE) < 0)
        return -1;
    rc |= put(out, "Via: 1.1 %s\r\nConnection: upgrade\r\nUpgrade: %.*s\r\n\r\n",
              ex->cfg->via_name, (int)h->fields[up].value.len, base + h->fields[up].value.off);
    return rc ? -1 : 0;
}

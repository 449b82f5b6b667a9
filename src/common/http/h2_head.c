/* h2_head.c — HTTP/2 fields and HTTP/1.1 heads, both ways (see h2_head.h).
 * nghttp2 checks most of what is refused here already (its HTTP
 * messaging rules); the checks are made again because this is where an
 * HTTP/2 request becomes bytes an HTTP/1.1 server will read. */
#include "h2_head.h"
#include "util.h"

#include <string.h>
#include <strings.h>

/* ---- names and values ---- */

/* RFC 9110 5.6.2 tchar, lower case only (RFC 9113 8.2.1). */
static int lower_token(const uint8_t *p, size_t n)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            (ch && memchr(extra, ch, sizeof(extra) - 1)))
            continue;
        return 0;
    }
    return 1;
}

/* RFC 9113 8.2.1: no NUL, CR or LF (nor, here, another control byte but
 * HTAB), and no whitespace at either end.  Returns why not, or NULL. */
static const char *bad_value(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
            return "a field value holds a control byte (CR, LF, NUL...)";
    if (n && (p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        return "a field value begins or ends with whitespace";
    return NULL;
}

static int is(const uint8_t *p, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

/* RFC 9113 8.2.2: fields that say how one connection behaves. */
static int connection_specific(const uint8_t *p, size_t n)
{
    return is(p, n, "connection") || is(p, n, "keep-alive") || is(p, n, "proxy-connection") ||
           is(p, n, "transfer-encoding") || is(p, n, "upgrade");
}

/* RFC 9110 6.5.1: what a trailer may not carry (framing, routing, request
 * modifiers, authentication, response control, content handling), and
 * the connection-specific fields; p is lower case. */
static int not_a_trailer(const uint8_t *p, size_t n)
{
    static const char *const names[] = {
        "content-length", "transfer-encoding", "trailer", "host", "te", "connection",
        "keep-alive", "proxy-connection", "upgrade", "authorization", "proxy-authorization",
        "www-authenticate", "proxy-authenticate", "cookie", "set-cookie", "content-encoding",
        "content-type", "content-range", "cache-control", "expect", "max-forwards", "pragma",
        "range", "age", "expires", "date", "location", "retry-after", "vary", NULL};

    for (int i = 0; names[i]; i++)
        if (is(p, n, names[i]))
            return 1;
    return n > 3 && memcmp(p, "if-", 3) == 0;
}

static void lower(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 'A' && p[i] <= 'Z')
            p[i] = (char)(p[i] + 32);
}

/* ---- the request ---- */

static int fail(struct h2_reqhead *r, const char *why)
{
    if (!r->error)
        r->error = why;
    return -1;
}

static void put(struct h2_reqhead *r, const void *p, size_t n)
{
    if (r->overflow)
        return;
    if (!r->out)
        r->out = buf_get();
    if (buf_room(r->out) < n) {
        r->overflow = 1;
        return;
    }
    buf_append(r->out, p, n);
}

static void put_rc(struct h2_reqhead *r, nghttp2_rcbuf *rc)
{
    nghttp2_vec v = nghttp2_rcbuf_get_buf(rc);

    put(r, v.base, v.len);
}

/* "METHOD path HTTP/1.1" and the Host :authority names, once. */
static int put_line(struct h2_reqhead *r)
{
    nghttp2_vec m, a;

    if (r->line_done)
        return 0;
    r->line_done = 1;
    if (!r->method)
        return fail(r, "no :method");
    m = nghttp2_rcbuf_get_buf(r->method);
    if (is(m.base, m.len, "CONNECT")) {
        r->connect = 1; /* no tunnels over HTTP/2 here (nor RFC 8441's extended CONNECT) */
        return 0;
    }
    if (!r->path)
        return fail(r, "no :path");
    put_rc(r, r->method);
    put(r, " ", 1);
    put_rc(r, r->path);
    put(r, " HTTP/1.1\r\n", 11);
    if (r->authority) {
        a = nghttp2_rcbuf_get_buf(r->authority);
        if (memchr(a.base, '@', a.len))
            return fail(r, "userinfo in :authority");
        if (bad_value(a.base, a.len) || memchr(a.base, ' ', a.len))
            return fail(r, "a bad :authority");
        put(r, "host: ", 6);
        put(r, a.base, a.len);
        put(r, "\r\n", 2);
    }
    return 0;
}

/* A pseudo-field: kept for the request line. */
static int pseudo(struct h2_reqhead *r, nghttp2_vec n, nghttp2_rcbuf *value)
{
    nghttp2_rcbuf **slot = NULL;

    if (r->line_done)
        return fail(r, "a pseudo-field after the regular fields");
    if (is(n.base, n.len, ":method"))
        slot = &r->method;
    else if (is(n.base, n.len, ":path"))
        slot = &r->path;
    else if (is(n.base, n.len, ":authority"))
        slot = &r->authority;
    else if (!is(n.base, n.len, ":scheme")) /* the scheme is the listener's, not the client's */
        return fail(r, "an unknown pseudo-field");
    if (!slot)
        return 0;
    if (*slot)
        return fail(r, "a pseudo-field twice");
    nghttp2_rcbuf_incref(value);
    *slot = value;
    return 0;
}

/* A host field beside :authority must name the same (RFC 9113 8.3.1). */
static int host_field(struct h2_reqhead *r, nghttp2_vec v)
{
    nghttp2_vec a;

    if (!r->authority) {
        put(r, "host: ", 6);
        put(r, v.base, v.len);
        put(r, "\r\n", 2);
        return 0;
    }
    a = nghttp2_rcbuf_get_buf(r->authority);
    if (a.len != v.len || strncasecmp((const char *)a.base, (const char *)v.base, a.len) != 0)
        return fail(r, "host differs from :authority");
    return 0; /* the same: Host is written already */
}

int h2_reqhead_field(struct h2_reqhead *r, nghttp2_rcbuf *name, nghttp2_rcbuf *value)
{
    nghttp2_vec n = nghttp2_rcbuf_get_buf(name), v = nghttp2_rcbuf_get_buf(value);
    const char *why;

    r->decoded += (uint32_t)GH_MIN(n.len + v.len, (size_t)UINT32_MAX - r->decoded);
    if (r->error)
        return -1;
    if (n.len && n.base[0] == ':')
        return pseudo(r, n, value);
    if (!lower_token(n.base, n.len))
        return fail(r, "a field name that is not a lower-case token");
    if ((why = bad_value(v.base, v.len)) != NULL)
        return fail(r, why);
    if (connection_specific(n.base, n.len))
        return fail(r, "a connection-specific field (RFC 9113 8.2.2)");
    if (is(n.base, n.len, "te")) {
        if (!is(v.base, v.len, "trailers"))
            return fail(r, "te other than \"trailers\"");
        r->te_trailers = 1;
        return 0;
    }
    if (put_line(r) < 0)
        return -1;
    if (is(n.base, n.len, "host"))
        return host_field(r, v);
    if (is(n.base, n.len, "cookie")) {
        if (!r->cookie)
            r->cookie = buf_get();
        if (buf_len(r->cookie) && buf_append(r->cookie, "; ", 2) < 2)
            r->overflow = 1;
        if (buf_append(r->cookie, v.base, v.len) < v.len)
            r->overflow = 1;
        return 0;
    }
    r->has_cl |= is(n.base, n.len, "content-length");
    put(r, n.base, n.len);
    put(r, ": ", 2);
    put(r, v.base, v.len);
    put(r, "\r\n", 2);
    return 0;
}

int h2_reqhead_end(struct h2_reqhead *r, int body)
{
    if (r->error || put_line(r) < 0)
        return -1;
    if (r->connect)
        return 0;
    if (r->cookie && buf_len(r->cookie)) {
        put(r, "cookie: ", 8);
        put(r, buf_head(r->cookie), buf_len(r->cookie));
        put(r, "\r\n", 2);
    }
    if (body && !r->has_cl) /* streamed on as it comes: the upstream reads it chunked */
        put(r, "transfer-encoding: chunked\r\n", 28);
    put(r, "\r\n", 2);
    return 0;
}

void h2_reqhead_clear(struct h2_reqhead *r)
{
    nghttp2_rcbuf **rc[] = {&r->method, &r->path, &r->authority};

    for (unsigned i = 0; i < GH_ARRAY_LEN(rc); i++)
        if (*rc[i]) {
            nghttp2_rcbuf_decref(*rc[i]);
            *rc[i] = NULL;
        }
    buf_put(r->cookie);
    r->cookie = NULL;
}

int h2_trailer_field(struct buf **lines, const uint8_t *name, size_t nlen, const uint8_t *value,
                     size_t vlen, const char **why)
{
    if (nlen && name[0] == ':') {
        *why = "a pseudo-field in trailers";
        return -1;
    }
    if (!lower_token(name, nlen)) {
        *why = "a field name that is not a lower-case token";
        return -1;
    }
    if ((*why = bad_value(value, vlen)) != NULL)
        return -1;
    if (not_a_trailer(name, nlen))
        return 0;
    if (!*lines)
        *lines = buf_get();
    if (buf_len(*lines) + nlen + vlen + 4 > HTTP1_CHUNK_MAX_TRAILERS) {
        *why = "trailers too large";
        return -1;
    }
    buf_append(*lines, name, nlen);
    buf_append(*lines, ": ", 2);
    buf_append(*lines, value, vlen);
    buf_append(*lines, "\r\n", 2);
    return 0;
}

/* ---- the response ---- */

static nghttp2_nv nv_of(const char *name, size_t nlen, const char *value, size_t vlen)
{
    return (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, nlen, vlen, NGHTTP2_NV_FLAG_NONE};
}

int h2_resphead_nv(char *p, size_t len, int req_is_head, nghttp2_nv *nv, size_t max, size_t *n,
                   int *code, char *status)
{
    /* the core's own head: its limits were the upstream's already */
    static const struct http1_limits lim = {16384, 65536, HTTP1_MAX_HEADERS, 1};
    struct http_head h;
    int rc = http1_parse_response(p, len, &lim, req_is_head, &h);

    if (rc <= 0)
        return rc;
    if (h.status < 100 || h.status > 999 || max < 1)
        return HTTP1_ERROR;
    *code = h.status;
    gh_fmt(status, 4, "%03d", h.status);
    nv[0] = nv_of(":status", 7, status, 3);
    *n = 1;
    for (unsigned i = 0; i < h.nfields; i++) {
        char *name = p + h.fields[i].name.off;
        size_t nl = h.fields[i].name.len;
        lower(name, nl);
        if (connection_specific((const uint8_t *)name, nl) || is((const uint8_t *)name, nl, "te"))
            continue;
        if (*n == max)
            return HTTP1_ERROR;
        nv[(*n)++] = nv_of(name, nl, p + h.fields[i].value.off, h.fields[i].value.len);
    }
    return rc;
}

size_t h2_trailers_nv(struct buf *lines, nghttp2_nv *nv, size_t max)
{
    char *p = buf_head(lines), *end = p + buf_len(lines);
    size_t n = 0;

    while (p < end && n < max) {
        char *eol = memchr(p, '\n', (size_t)(end - p)), *colon, *v, *ve;
        if (!eol)
            break;
        ve = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        colon = memchr(p, ':', (size_t)(ve - p));
        if (colon) {
            lower(p, (size_t)(colon - p));
            for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
                ;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (lower_token((const uint8_t *)p, (size_t)(colon - p)) &&
                !bad_value((const uint8_t *)v, (size_t)(ve - v)) &&
                !not_a_trailer((const uint8_t *)p, (size_t)(colon - p)))
                nv[n++] = nv_of(p, (size_t)(colon - p), v, (size_t)(ve - v));
        }
        p = eol + 1;
    }
    return n;
}

/* http1.c — strict HTTP/1.x head parser (see http1.h; the chunked decoder
 * is http1_chunked.c).
 *
 * Owns the syntax of start lines and field lines and the framing rules that
 * say where a body ends (RFC 9112 section 6).  It does not own policy (which
 * methods, hosts or sizes a front-end accepts), serialising heads, or any
 * memory: no allocation, no I/O.  This
 * file is the proxy's request-smuggling defence, so where the RFCs allow
 * leniency it mostly chooses to reject.
 *
 * Incrementality without saved state: each call re-parses the head from its
 * first byte.  Every line is checked in two phases: a byte scan (bad bytes,
 * bare CR or LF, length limits) whose verdict depends only on bytes already
 * seen, then, once the line's CRLF has arrived, its syntax.  Message-wide
 * rules (Host, framing) run only after the blank line.  So a prefix either
 * reports the error the whole head would report or asks for more bytes, and
 * the cost of a PARTIAL answer is one pass over at most max_head bytes. */
#include "http1.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

/* Byte classes for the line scan (phase 1); 0 is every other control byte,
 * NUL and DEL included. */
enum { B_CTL = 0, B_HTAB, B_SP, B_VCHAR, B_OBS, B_CR, B_LF };

static const unsigned char byte_class[256] = {
    ['\t'] = B_HTAB, ['\n'] = B_LF, ['\r'] = B_CR, [' '] = B_SP,
    [0x21 ... 0x7e] = B_VCHAR, [0x80 ... 0xff] = B_OBS,
};

/* The bytes at which scan_line's fast loop stops: CR, LF and the controls
 * (HTAB aside) everywhere; HTAB and obs-text too on a strict (request) line. */
static const unsigned char stop_field[256] = {
    [0x00 ... 0x08] = 1, [0x0a ... 0x1f] = 1, [0x7f] = 1,
};
static const unsigned char stop_strict[256] = {
    [0x00 ... 0x1f] = 1, [0x7f ... 0xff] = 1,
};

/* tchar of RFC 9110 section 5.6.2: what tokens (methods, field names,
 * codings) are made of. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#' ... '\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1,
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['^' ... '`'] = 1, ['a' ... 'z'] = 1,
    ['|'] = 1, ['~'] = 1,
};

/* The tchar a field name may always hold: all but '_', which a setting
 * allows. */
static const unsigned char name_plain[256] = {
    ['!'] = 1, ['#' ... '\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1,
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['^'] = 1, ['`'] = 1, ['a' ... 'z'] = 1,
    ['|'] = 1, ['~'] = 1,
};

/* Bytes of a host in a target or Host field: HOST_NAME for a reg-name
 * narrowed to RFC 3986 unreserved (no percent-encoding, no sub-delims, no
 * userinfo), HOST_V6 inside the brackets of an IPv6 literal. */
#define HOST_NAME 1
#define HOST_V6 2
#define HOST_BOTH (HOST_NAME | HOST_V6)
static const unsigned char host_char[256] = {
    ['0' ... '9'] = HOST_BOTH, ['A' ... 'F'] = HOST_BOTH, ['a' ... 'f'] = HOST_BOTH, ['.'] = HOST_BOTH,
    ['G' ... 'Z'] = HOST_NAME, ['g' ... 'z'] = HOST_NAME, ['-'] = HOST_NAME, ['_'] = HOST_NAME,
    ['~'] = HOST_NAME, [':'] = HOST_V6,
};

/* One parse in progress.  Limits are copied in, clamped to what the API can
 * express (head_len is returned as an int, fields[] is fixed-size). */
struct parser {
    const char *buf;
    size_t len;           /* bytes available in buf */
    size_t max_head;      /* the whole head must fit in buf[0..max_head) */
    size_t max_line;      /* start-line bytes, CRLF excluded */
    unsigned max_fields;
    int allow_underscore;
    int is_request;
    int req_is_head;      /* responses: the request was HEAD */
    struct http_head *h;
};

/* What the framing fields said, gathered over all fields of a head. */
struct framing {
    unsigned hosts;       /* Host fields seen */
    int te;               /* a Transfer-Encoding field was seen */
    int chunked;          /* chunked was among the codings (at most once) */
    int last_chunked;     /* the last coding seen was chunked */
    int cl;               /* a Content-Length field was seen */
    uint64_t length;      /* its value (all values agree) */
};

/* ---- small helpers ---- */

static int fail(struct http_head *h, int status, const char *why)
{
    h->error_status = status;
    h->error = why;
    return HTTP1_ERROR;
}

static struct http_slice slice(size_t off, size_t len)
{
    struct http_slice s = { (uint32_t)off, (uint32_t)len };
    return s;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* ASCII case-insensitive: does a[0..n) equal the C string lit?  Not the C
 * library's strncasecmp, whose answer depends on the locale. */
static int ci_eq(const char *a, size_t n, const char *lit)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)lit[i];
        if (y == '\0' || (x != y && lower(x) != lower(y)))
            return 0;
    }
    return lit[n] == '\0';
}

static int all_tchar(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!tchar[(unsigned char)s[i]])
            return 0;
    return n > 0;
}

/* 1*DIGIT into *out; -1 on an empty string, a non-digit or uint64 overflow.
 * No sign, no spaces: "+5", " 5" and "0x5" are not numbers here. */
static int parse_decimal(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (!is_digit(s[i]) || v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Cuts the next element of the comma-separated list v[0..n) starting at *pos,
 * trimmed of OWS, into v[*start .. *start + *len); *pos moves past the comma.
 * Returns 0 once the list is exhausted.  Empty elements are returned, so that
 * strict callers can refuse them; an empty value is one empty element.  Quoted
 * strings are not understood: no list parsed here carries them. */
static int list_next(const char *v, size_t n, size_t *pos, size_t *start, size_t *len)
{
    size_t s = *pos, e;

    if (s > n)
        return 0;
    e = s;
    while (e < n && v[e] != ',')
        e++;
    *pos = e + 1;
    while (s < e && is_ows(v[s]))
        s++;
    while (e > s && is_ows(v[e - 1]))
        e--;
    *start = s;
    *len = e - s;
    return 1;
}

/* ---- phase 1: finding the end of a line ---- */

/* Eight bytes at a time from i towards end, past words holding no byte the
 * tables above stop at: none below 0x20 (CR, LF, controls, HTAB: a false
 * stop for HTAB in a field value costs only the byte loop), no DEL, and on
 * a strict line no byte from 0x80.  Returns where the byte loop goes on. */
static size_t skip_words(const unsigned char *b, size_t i, size_t end, int strict)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const uint64_t bad_high = strict ? highs : 0;

    while (i < end && end - i >= 8) {
        uint64_t w, ctl, del;

        memcpy(&w, b + i, 8);
        ctl = (w - ones * 0x20) & ~w & highs;      /* some byte < 0x20 */
        del = ((w ^ (ones * 0x7f)) - ones) & ~(w ^ (ones * 0x7f)) & highs; /* some byte == 0x7f */
        if (ctl | del | (w & bad_high))
            break;
        i += 8;
    }
    return i;
}

/* Scans the line starting at `start` up to its CRLF and stores the offset of
 * the CR in *eol.  Returns 0, HTTP1_PARTIAL, or HTTP1_ERROR for a byte that
 * may not appear: NUL and other controls, a CR not followed by LF, a LF not
 * preceded by CR; with `strict` (the request line) also HTAB and bytes
 * >= 0x80.  Limits are positional, so they fire as soon as the first byte
 * past them exists, and a buffer of max_head bytes never gets PARTIAL. */
static int scan_line(const struct parser *p, size_t start, size_t max_line, int strict, size_t *eol)
{
    const unsigned char *stop_at = strict ? stop_strict : stop_field;
    const unsigned char *b = (const unsigned char *)p->buf;
    size_t i = start, end = p->max_head < p->len ? p->max_head : p->len;

    /* The fast part: bytes that cannot end the line nor break a rule, short
     * of every limit.  The loop below decides whatever stopped it, exactly
     * as it decides every byte. */
    if (start < end && max_line < end - start)
        end = start + max_line;
    i = skip_words(b, i, end, strict);
    while (i < end && !stop_at[b[i]])
        i++;
    for (;; i++) {
        unsigned cls;

        if (i >= p->max_head)
            return fail(p->h, 431, "head too long");
        if (i >= p->len)
            return HTTP1_PARTIAL;
        cls = byte_class[(unsigned char)p->buf[i]];
        if (cls == B_CR) {
            /* Decided without the next byte when its position is already
             * past the limit: the answer must not depend on the split. */
            if (i + 1 >= p->max_head)
                return fail(p->h, 431, "head too long");
            if (i + 1 >= p->len)
                return HTTP1_PARTIAL;
            if (p->buf[i + 1] != '\n')
                return fail(p->h, 400, "bare CR");
            *eol = i;
            return 0;
        }
        if (i - start >= max_line)
            return fail(p->h, 414, "start line too long");
        if (cls == B_LF)
            return fail(p->h, 400, "bare LF");
        if (cls == B_CTL || (strict && (cls == B_HTAB || cls == B_OBS)))
            return fail(p->h, 400, "forbidden byte in head");
    }
}

/* ---- phase 2: the syntax of complete lines ---- */

/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.  Only 1.0 and 1.1
 * are spoken; a well-formed other version (2.0, 0.9, and 1.2 too) is 505. */
static int parse_version(struct http_head *h, const char *v, size_t n)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) || v[6] != '.' || !is_digit(v[7]))
        return fail(h, 400, "malformed HTTP version");
    if (v[5] != '1' || v[7] > '1')
        return fail(h, 505, "unsupported HTTP version");
    h->minor_version = v[7] - '0';
    return 0;
}

/* uri-host [":" port] of RFC 3986, narrowed to what a proxy can route (see
 * host_char; an IPv6 literal holds a ':', zone ids are refused); a port is 1
 * to 5 digits in 1..65535.  Sets *host (brackets removed) and *port (0 when
 * absent).  Returns NULL, or why the authority is refused. */
static const char *parse_authority(const char *base, struct http_slice a, struct http_slice *host,
                                   unsigned *port)
{
    const char *s = base + a.off;
    size_t n = a.len, i = 0, hs, he;
    uint64_t v;

    if (n > 0 && s[0] == '[') {
        for (i = 1; i < n && (host_char[(unsigned char)s[i]] & HOST_V6); i++)
            ;
        hs = 1;
        he = i;
        if (i >= n || s[i] != ']' || !memchr(s + hs, ':', he - hs))
            return "bad IPv6 literal";
        i++;
    } else {
        for (; i < n && (host_char[(unsigned char)s[i]] & HOST_NAME); i++)
            ;
        hs = 0;
        he = i;
        if (he == 0)
            return "empty host";
    }
    *host = slice(a.off + hs, he - hs);
    *port = 0;
    if (i == n)
        return NULL;
    if (s[i] != ':')
        return "bad character in host";
    i++;
    if (n - i > 5 || parse_decimal(s + i, n - i, &v) != 0 || v == 0 || v > 65535)
        return "bad port";
    *port = (unsigned)v;
    return NULL;
}

/* request-target (RFC 9112 section 3.2): CONNECT takes authority-form only
 * (host:port), "*" belongs to OPTIONS only, origin-form starts with '/', and
 * absolute-form is http:// or https:// (scheme case-insensitive).  For an
 * absolute target, path is what follows the authority: empty, "/..." or
 * "?..." (the forwarder writes "/" before a path that does not start with
 * one). */
static int parse_target(struct parser *p)
{
    struct http_head *h = p->h;
    const char *t = p->buf + h->target.off;
    size_t n = h->target.len, a, e, scheme_len;
    unsigned port, default_port;
    const char *why;

    if (memchr(t, '#', n))
        return fail(h, 400, "fragment in request target");
    if (h->method.len == 7 && memcmp(p->buf + h->method.off, "CONNECT", 7) == 0) {
        h->form = HTTP_TARGET_AUTHORITY;
        h->authority = h->target;
        why = parse_authority(p->buf, h->target, &h->host, &port);
        if (why)
            return fail(h, 400, why);
        if (port == 0)
            return fail(h, 400, "CONNECT target without port");
        h->port = (uint16_t)port;
        return 0;
    }
    if (n == 1 && t[0] == '*') {
        if (h->method.len != 7 || memcmp(p->buf + h->method.off, "OPTIONS", 7) != 0)
            return fail(h, 400, "asterisk target outside OPTIONS");
        h->form = HTTP_TARGET_ASTERISK;
        return 0;
    }
    if (t[0] == '/') {
        h->form = HTTP_TARGET_ORIGIN;
        return 0;
    }
    if (n >= 7 && ci_eq(t, 7, "http://")) {
        scheme_len = 4;
        default_port = 80;
    } else if (n >= 8 && ci_eq(t, 8, "https://")) {
        scheme_len = 5;
        default_port = 443;
    } else {
        return fail(h, 400, "bad request target");
    }
    h->form = HTTP_TARGET_ABSOLUTE;
    h->scheme = slice(h->target.off, scheme_len);
    a = scheme_len + 3;
    for (e = a; e < n && t[e] != '/' && t[e] != '?'; e++)
        ;
    h->authority = slice(h->target.off + a, e - a);
    why = parse_authority(p->buf, h->authority, &h->host, &port);
    if (why)
        return fail(h, 400, why);
    h->port = (uint16_t)(port ? port : default_port);
    h->path = slice(h->target.off + e, n - e);
    return 0;
}

/* request-line = method SP request-target SP HTTP-version: single spaces,
 * nothing else.  Phase 1 has refused controls, HTAB and bytes >= 0x7f. */
static int parse_request_line(struct parser *p, size_t s, size_t e)
{
    struct http_head *h = p->h;
    const char *b = p->buf;
    size_t i = s, t;
    int r;

    while (i < e && tchar[(unsigned char)b[i]])
        i++;
    if (i == s || i == e || b[i] != ' ')
        return fail(h, 400, "bad method");
    h->method = slice(s, i - s);
    t = ++i;
    while (i < e && b[i] != ' ')
        i++;
    if (i == t || i == e)
        return fail(h, 400, "bad request line");
    h->target = slice(t, i - t);
    /* The version first: "PRI * HTTP/2.0" is answered 505, not 400. */
    r = parse_version(h, b + i + 1, e - i - 1);
    if (r)
        return r;
    return parse_target(p);
}

/* status-line = HTTP-version SP 3DIGIT SP [reason-phrase].  Tolerated from
 * origins: the SP and reason missing altogether ("HTTP/1.1 200"). */
static int parse_status_line(struct parser *p, size_t s, size_t e)
{
    struct http_head *h = p->h;
    const char *b = p->buf;
    size_t i = s + 12;
    int r;

    if (e - s < 12 || b[s + 8] != ' ')
        return fail(h, 502, "malformed status line");
    r = parse_version(h, b + s, 8);
    if (r)
        return r;
    if (!is_digit(b[s + 9]) || !is_digit(b[s + 10]) || !is_digit(b[s + 11]))
        return fail(h, 502, "malformed status code");
    h->status = (b[s + 9] - '0') * 100 + (b[s + 10] - '0') * 10 + (b[s + 11] - '0');
    if (h->status < 100)
        return fail(h, 502, "status code out of range");
    if (i < e && b[i++] != ' ')
        return fail(h, 502, "malformed status line");
    h->reason = slice(i, e - i);
    return 0;
}

/* field-line = field-name ":" OWS field-value OWS.  A line starting with
 * whitespace is obs-fold (or whitespace before the first field): refused, as
 * is whitespace between name and colon, the classic smuggling vector.  The
 * value's bytes were checked in phase 1 (VCHAR, obs-text, SP, HTAB). */
static int parse_field_line(struct parser *p, size_t s, size_t e)
{
    struct http_head *h = p->h;
    const char *b = p->buf;
    size_t i, vs, ve;

    if (is_ows(b[s]))
        return fail(h, 400, "obs-fold or whitespace before field");
    for (i = s; i < e && b[i] != ':'; i++) {
        unsigned char c = (unsigned char)b[i];
        if (name_plain[c])
            continue; /* the common case, one lookup */
        if (is_ows((char)c))
            return fail(h, 400, "whitespace in field name");
        if (!tchar[c] || (c == '_' && !p->allow_underscore))
            return fail(h, 400, "bad character in field name");
    }
    if (i == e)
        return fail(h, 400, "field line without colon");
    if (i == s)
        return fail(h, 400, "empty field name");
    for (vs = i + 1; vs < e && is_ows(b[vs]); vs++)
        ;
    for (ve = e; ve > vs && is_ows(b[ve - 1]); ve--)
        ;
    h->fields[h->nfields].name = slice(s, i - s);
    h->fields[h->nfields].value = slice(vs, ve - vs);
    h->nfields++;
    return 0;
}

/* ---- message-wide rules: Host, framing, connection flags ---- */

/* Host (requests): one at most, and a valid uri-host [":" port] or empty
 * (RFC 9112 section 3.2 asks for 400 on both counts). */
static int on_host(struct parser *p, struct framing *fr, struct http_slice v)
{
    struct http_slice host;
    unsigned port;

    if (++fr->hosts > 1)
        return fail(p->h, 400, "several Host fields");
    p->h->flags |= HTTP_F_HAS_HOST;
    if (v.len > 0 && parse_authority(p->buf, v, &host, &port) != NULL)
        return fail(p->h, 400, "bad Host field");
    return 0;
}

/* Content-Length: every element of every such field must be 1*DIGIT and all
 * must agree ("5, 5" is 5; "5, 6" is an attack or a bug). */
static int on_content_length(struct parser *p, struct framing *fr, const char *v, size_t n)
{
    size_t pos = 0, s, len;
    uint64_t val;

    while (list_next(v, n, &pos, &s, &len)) {
        if (parse_decimal(v + s, len, &val) != 0)
            return fail(p->h, 400, "bad Content-Length");
        if (fr->cl && val != fr->length)
            return fail(p->h, 400, "conflicting Content-Length");
        fr->cl = 1;
        fr->length = val;
    }
    return 0;
}

static int known_coding(const char *c, size_t n)
{
    return ci_eq(c, n, "gzip") || ci_eq(c, n, "deflate") || ci_eq(c, n, "compress") ||
           ci_eq(c, n, "x-gzip");
}

/* Transfer-Encoding: a list of bare codings over all such fields (parameters
 * and empty elements refused).  chunked may appear once; whether it is last
 * is judged per message kind.  A request's unknown coding is 501 (RFC 9112
 * section 6.1); a response's is passed through, only chunked is decoded. */
static int on_transfer_encoding(struct parser *p, struct framing *fr, const char *v, size_t n)
{
    size_t pos = 0, s, len;

    fr->te = 1;
    while (list_next(v, n, &pos, &s, &len)) {
        if (!all_tchar(v + s, len))
            return fail(p->h, 400, "bad Transfer-Encoding");
        if (ci_eq(v + s, len, "chunked")) {
            if (fr->chunked)
                return fail(p->h, 400, "chunked applied twice");
            fr->chunked = fr->last_chunked = 1;
            continue;
        }
        fr->last_chunked = 0;
        if (p->is_request && !known_coding(v + s, len))
            return fail(p->h, 501, "unknown transfer coding");
    }
    return 0;
}

static void on_connection(struct http_head *h, const char *v, size_t n)
{
    size_t pos = 0, s, len;

    while (list_next(v, n, &pos, &s, &len)) {
        if (ci_eq(v + s, len, "close"))
            h->flags |= HTTP_F_CONN_CLOSE;
        else if (ci_eq(v + s, len, "keep-alive"))
            h->flags |= HTTP_F_CONN_KEEPALIVE;
        else if (ci_eq(v + s, len, "upgrade"))
            h->flags |= HTTP_F_CONN_UPGRADE;
    }
}

/* RFC 9112 section 6.3 for requests: TE (ending in chunked, HTTP/1.1 only,
 * never with Content-Length), else Content-Length, else no body. */
static int request_framing(struct parser *p, const struct framing *fr)
{
    struct http_head *h = p->h;

    if (h->minor_version == 1 && fr->hosts == 0)
        return fail(h, 400, "missing Host");
    if (fr->te) {
        if (h->minor_version == 0)
            return fail(h, 400, "Transfer-Encoding in an HTTP/1.0 request");
        if (fr->cl)
            return fail(h, 400, "both Transfer-Encoding and Content-Length");
        if (!fr->last_chunked)
            return fail(h, 400, "Transfer-Encoding does not end in chunked");
        h->framing = HTTP_BODY_CHUNKED;
    } else if (fr->cl && fr->length > 0) {
        h->framing = HTTP_BODY_LENGTH;
        h->content_length = fr->length;
    }
    return 0;
}

/* RFC 9112 section 6.3 for responses.  Transfer-Encoding together with
 * Content-Length is refused (502) rather than resolved in favour of TE as the
 * RFC permits: it smells of response splitting, nginx refuses it too, and
 * forwarding only unambiguous messages keeps the forwarder simple.  TE in an
 * HTTP/1.0 response is faulty framing (section 6.1): refused as well. */
static int response_framing(struct parser *p, const struct framing *fr)
{
    struct http_head *h = p->h;
    int st = h->status;

    if (fr->te && fr->cl)
        return fail(h, 502, "both Transfer-Encoding and Content-Length");
    if (fr->te && h->minor_version == 0)
        return fail(h, 502, "Transfer-Encoding in an HTTP/1.0 response");
    if (p->req_is_head || st < 200 || st == 204 || st == 304)
        h->framing = HTTP_BODY_NONE;
    else if (fr->te)
        h->framing = fr->last_chunked ? HTTP_BODY_CHUNKED : HTTP_BODY_CLOSE;
    else if (fr->cl && fr->length > 0) {
        h->framing = HTTP_BODY_LENGTH;
        h->content_length = fr->length;
    } else
        h->framing = fr->cl ? HTTP_BODY_NONE : HTTP_BODY_CLOSE;
    return 0;
}

#define FIELD_IS(p, f, lit) \
    ((f)->name.len == sizeof(lit) - 1 && ci_eq((p)->buf + (f)->name.off, sizeof(lit) - 1, lit))

/* Walks the fields in order (so the first offending one decides the error),
 * then applies the message's framing rules. */
static int derive(struct parser *p)
{
    struct http_head *h = p->h;
    struct framing fr;
    unsigned i;
    int r = 0;

    memset(&fr, 0, sizeof(fr));
    for (i = 0; i < h->nfields && r == 0; i++) {
        const struct http_field *f = &h->fields[i];
        const char *v = p->buf + f->value.off;

        if (FIELD_IS(p, f, "host"))
            r = p->is_request ? on_host(p, &fr, f->value) : 0;
        else if (FIELD_IS(p, f, "content-length"))
            r = on_content_length(p, &fr, v, f->value.len);
        else if (FIELD_IS(p, f, "transfer-encoding"))
            r = on_transfer_encoding(p, &fr, v, f->value.len);
        else if (FIELD_IS(p, f, "connection"))
            on_connection(h, v, f->value.len);
        else if (FIELD_IS(p, f, "expect") && http1_list_has(v, f->value.len, "100-continue"))
            h->flags |= HTTP_F_EXPECT_CONTINUE;
        else if (FIELD_IS(p, f, "upgrade"))
            h->flags |= HTTP_F_HAS_UPGRADE;
    }
    if (r)
        return r;
    return p->is_request ? request_framing(p, &fr) : response_framing(p, &fr);
}

/* ---- the head ---- */

void http1_head_clear(struct http_head *h)
{
    memset(h, 0, offsetof(struct http_head, fields));
    memset(&h->framing, 0, sizeof(*h) - offsetof(struct http_head, framing));
    h->error = NULL;
}

static int parse_head(const char *buf, size_t len, const struct http1_limits *lim, int is_request,
                      int req_is_head, struct http_head *h)
{
    struct parser p = {
        .buf = buf, .len = len, .h = h,
        .max_head = lim->max_head < INT_MAX ? lim->max_head : INT_MAX,
        .max_line = lim->max_line,
        .max_fields = lim->max_fields < HTTP1_MAX_HEADERS ? lim->max_fields : HTTP1_MAX_HEADERS,
        .allow_underscore = lim->allow_underscore,
        .is_request = is_request, .req_is_head = req_is_head,
    };
    size_t pos = 0, eol;
    int r;

    http1_head_clear(h);

    /* The start line; a request may be preceded by empty lines (RFC 9112
     * section 2.2), which count in head_len and against max_head. */
    for (;;) {
        r = scan_line(&p, pos, p.max_line, is_request, &eol);
        if (r)
            return r;
        if (eol > pos || !is_request)
            break;
        pos = eol + 2;
    }
    r = is_request ? parse_request_line(&p, pos, eol) : parse_status_line(&p, pos, eol);
    if (r)
        return r;
    pos = eol + 2;

    /* Field lines up to the empty line. */
    for (;;) {
        r = scan_line(&p, pos, SIZE_MAX, 0, &eol);
        if (r)
            return r;
        if (eol == pos)
            break;
        if (h->nfields >= p.max_fields)
            return fail(h, 431, "too many header fields");
        r = parse_field_line(&p, pos, eol);
        if (r)
            return r;
        pos = eol + 2;
    }
    h->head_len = (uint32_t)(pos + 2);
    r = derive(&p);
    return r ? r : (int)h->head_len;
}

int http1_parse_request(const char *buf, size_t len, const struct http1_limits *lim, struct http_head *h)
{
    return parse_head(buf, len, lim, 1, 0, h);
}

/* Every failure of an upstream's response is that upstream's fault: 502,
 * whatever status the shared code chose. */
int http1_parse_response(const char *buf, size_t len, const struct http1_limits *lim, int req_is_head,
                         struct http_head *h)
{
    int r = parse_head(buf, len, lim, 0, req_is_head, h);

    if (r == HTTP1_ERROR)
        h->error_status = 502;
    return r;
}

int http1_find(const struct http_head *h, const char *base, const char *name, int from)
{
    size_t n = strlen(name);
    unsigned i;

    for (i = from > 0 ? (unsigned)from : 0; i < h->nfields; i++)
        if (h->fields[i].name.len == n && ci_eq(base + h->fields[i].name.off, n, name))
            return (int)i;
    return -1;
}

int http1_list_has(const char *v, size_t vlen, const char *token)
{
    size_t pos = 0, s, len;

    while (list_next(v, vlen, &pos, &s, &len))
        if (len > 0 && ci_eq(v + s, len, token))
            return 1;
    return 0;
}

int http1_list_next(const char *v, size_t vlen, size_t *pos, size_t *start, size_t *len)
{
    return list_next(v, vlen, pos, start, len);
}

int http1_is_hop_by_hop(const char *name, size_t len)
{
    /* by length first: this runs for every field of every proxied head */
    switch (len) {
    case 2:
        return ci_eq(name, len, "te");
    case 7:
        return ci_eq(name, len, "trailer") || ci_eq(name, len, "upgrade");
    case 10:
        return ci_eq(name, len, "connection") || ci_eq(name, len, "keep-alive");
    case 16:
        return ci_eq(name, len, "proxy-connection");
    case 17:
        return ci_eq(name, len, "transfer-encoding");
    case 18:
        return ci_eq(name, len, "proxy-authenticate");
    case 19:
        return ci_eq(name, len, "proxy-authorization");
    default:
        return 0;
    }
}

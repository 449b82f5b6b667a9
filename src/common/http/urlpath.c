/* urlpath.c — the normal form of a request target's path and query (see
 * urlpath.h).  One pass over the path: each segment is decoded into the
 * output behind its separator, then dropped again if it turns out to be
 * empty or a dot segment, so the view and the forwarded form always have
 * the same segments, only spelled differently. */
#include "urlpath.h"

#include <string.h>

static const char hex_digits[] = "0123456789ABCDEF";

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The byte of the escape at s[0..n) ("%41"), or -1 when s holds none. */
static int escape_at(const char *s, size_t n)
{
    int hi, lo;

    if (n < 3 || s[0] != '%' || (hi = hexval((unsigned char)s[1])) < 0 ||
        (lo = hexval((unsigned char)s[2])) < 0)
        return -1;
    return hi << 4 | lo;
}

static int unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Whether the view writes byte c decoded: printable ASCII, except the
 * bytes whose escape carries structure a decoded byte would not. */
static int view_decodes(int c)
{
    return c > 0x20 && c < 0x7f && c != '%' && c != ';' && c != '?' && c != '#' && c != '/' &&
           c != '\\';
}

/* The output being built; len may pass cap, which is checked at the end. */
struct out {
    char *p;
    size_t len, cap;
};

static void put(struct out *o, char c)
{
    if (o->len < o->cap)
        o->p[o->len] = c;
    o->len++;
}

static void put_escape(struct out *o, int c)
{
    put(o, '%');
    put(o, hex_digits[c >> 4]);
    put(o, hex_digits[c & 15]);
}

/* The length of a separator at s[0..n): 1 for '/' or '\', 3 for %2F or
 * %5C, 0 for none.  *encoded says which. */
static size_t separator(const char *s, size_t n, int *encoded)
{
    int c;

    *encoded = 0;
    if (s[0] == '/' || s[0] == '\\')
        return 1;
    c = escape_at(s, n);
    if (c == '/' || c == '\\') {
        *encoded = c;
        return 3;
    }
    return 0;
}

/* Whether the segment seg[0..n) (as written out) is "." or "..", a
 * ";parameters" part aside: returns 1 or 2, or 0 for neither. */
static int dot_segment(const char *seg, size_t n)
{
    const char *semi = memchr(seg, ';', n);

    if (semi)
        n = (size_t)(semi - seg);
    if (n == 1 && seg[0] == '.')
        return 1;
    if (n == 2 && seg[0] == '.' && seg[1] == '.')
        return 2;
    return 0;
}

/* Drops the last segment written (and its separator) from o, never the
 * root. */
static void pop_segment(struct out *o)
{
    size_t i = o->len;

    while (i > 0) {
        i--;
        if (o->p[i] == '/' || (o->p[i] == '%' && i + 2 < o->len &&
                               ((o->p[i + 1] == '2' && o->p[i + 2] == 'F') ||
                                (o->p[i + 1] == '5' && o->p[i + 2] == 'C'))))
            break;
    }
    o->len = i;
}

/* Writes one segment s[0..n) (no separators inside) decoded per flags.
 * Returns 0, or -1 with *why. */
static int put_segment(struct out *o, const char *s, size_t n, unsigned flags, const char **why)
{
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            c = escape_at(s + i, n - i);
            if (c < 0) {
                *why = "bad percent-encoding in the request path";
                return -1;
            }
            if (c == 0) {
                *why = "NUL (%00) in the request target";
                return -1;
            }
            i += 2;
            if (unreserved(c) || ((flags & URLPATH_VIEW) && view_decodes(c)))
                put(o, (char)c);
            else
                put_escape(o, c);
        } else {
            put(o, (char)c);
        }
    }
    return 0;
}

/* Writes the separator sep (0: '/', or the encoded byte) before a segment
 * at the end of o: encoded only in the forwarded form and below the root. */
static void put_separator(struct out *o, int sep, unsigned flags)
{
    if (o->len > 0 && sep && !(flags & URLPATH_VIEW))
        put_escape(o, sep);
    else
        put(o, '/');
}

/* Writes one segment behind its separator and drops it again when it is
 * empty or a dot segment ("..": with the segment before it).  Returns 1
 * when it was dropped, 0 when kept, -1 with *why on a bad escape. */
static int add_segment(struct out *o, int sep, const char *s, size_t n, unsigned flags,
                       const char **why)
{
    size_t start = o->len, seg;
    int dots;

    put_separator(o, sep, flags);
    seg = o->len;
    if (put_segment(o, s, n, flags, why) < 0)
        return -1;
    if (o->len > o->cap)
        return 0; /* too long: reported once the whole target is done */
    if (flags & URLPATH_NO_PARAMS) {
        char *semi = memchr(o->p + seg, ';', o->len - seg);
        if (semi)
            o->len = (size_t)(semi - o->p);
    }
    dots = dot_segment(o->p + seg, o->len - seg);
    if (o->len > seg && !dots)
        return 0;
    o->len = start;
    if (dots == 2)
        pop_segment(o);
    return 1;
}

/* The path p[0..n) into o.  Returns 0, or -1 with *why. */
static int put_path(struct out *o, const char *p, size_t n, unsigned flags, const char **why)
{
    int sep = 0, next = 0, dropped = 0;
    size_t i = n > 0 ? separator(p, n, &next) : 0; /* the root's own separator */

    while (i < n) {
        size_t end = i, k = 0;
        while (end < n && (k = separator(p + end, n - end, &next)) == 0)
            end++;
        if (end > i || k == 0) {
            dropped = add_segment(o, sep, p + i, end - i, flags, why);
            if (dropped < 0)
                return -1;
        }
        i = end + k;
        if (k > 0 && i == n) {
            /* "/a/": the last separator stays, as written */
            put_separator(o, next, flags);
            return 0;
        }
        sep = next;
    }
    /* the root, or a path that ended in a dot segment ("/a/." is "/a/") */
    if (o->len == 0 || dropped)
        put(o, '/');
    return 0;
}

/* The query q[0..n) (after its '?') into o. */
static int put_query(struct out *o, const char *q, size_t n, const char **why)
{
    for (size_t i = 0; i < n; i++) {
        int c = escape_at(q + i, n - i);
        if (c < 0) {
            put(o, q[i]); /* a bare '%' in a query is the application's business */
            continue;
        }
        if (c == 0) {
            *why = "NUL (%00) in the request target";
            return -1;
        }
        i += 2;
        if (unreserved(c))
            put(o, (char)c);
        else
            put_escape(o, c);
    }
    return 0;
}

long urlpath_normalize(const char *target, size_t len, unsigned flags, char *out, size_t cap,
                       const char **why)
{
    const char *q = memchr(target, '?', len);
    size_t plen = q ? (size_t)(q - target) : len;
    struct out o = {out, 0, cap ? cap - 1 : 0};

    *why = NULL;
    if (cap == 0) {
        *why = "request target too long";
        return -1;
    }
    if (put_path(&o, target, plen, flags, why) < 0)
        return -1;
    if (q) {
        put(&o, '?');
        if (put_query(&o, q + 1, len - plen - 1, why) < 0)
            return -1;
    }
    if (o.len > o.cap) {
        *why = "request target too long";
        return -1;
    }
    out[o.len] = '\0';
    return (long)o.len;
}

size_t urlpath_extension(const char *path, size_t len, unsigned flags, const char **ext)
{
    const char *q = memchr(path, '?', len), *seg, *semi, *dot;
    size_t n;

    if (q)
        len = (size_t)(q - path);
    seg = path + len;
    while (seg > path && seg[-1] != '/')
        seg--;
    n = (size_t)(path + len - seg);
    if ((flags & URLPATH_NO_PARAMS) && (semi = memchr(seg, ';', n)))
        n = (size_t)(semi - seg);
    for (;;) {
        if (n > 0 && seg[n - 1] == '.')
            n--;
        else if (n >= 3 && memcmp(seg + n - 3, "%20", 3) == 0)
            n -= 3;
        else
            break;
    }
    dot = n ? memrchr(seg, '.', n) : NULL;
    *ext = dot ? dot + 1 : seg + n;
    return dot ? (size_t)(seg + n - dot - 1) : 0;
}

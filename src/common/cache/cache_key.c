/* cache_key.c — primary keys (normalised target URIs) and their hash, Vary
 * secondary keys with Accept-Encoding normalisation, and the invalidation
 * targets of unsafe requests (see cache_key.h).  Owns only the per-process
 * hash secret, set once. */
#include "cache_key.h"

#include "cache_int.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- a bounded output ---- */

struct out {
    char *p;
    size_t cap, len;
    int over; /* something did not fit */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->cap)
        o->p[o->len++] = c;
    else
        o->over = 1;
}

static void puts_n(struct out *o, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n && !o->over; i++)
        put(o, s[i]);
}

static void put_lower(struct out *o, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n && !o->over; i++)
        put(o, cache_lower(s[i]));
}

static long finish(struct out *o)
{
    if (o->cap > 0)
        o->p[o->over ? 0 : o->len] = '\0';
    return o->over ? CACHE_KEY_TOO_LONG : (long)o->len;
}

/* ---- URIs ---- */

/* The parts of an http(s) URI a key is made of. */
struct uri {
    const char *scheme; /* "http" or "https" */
    const char *host;   /* without brackets */
    size_t hlen;
    int v6;         /* host was an IPv6 literal */
    unsigned port;  /* 0: the default */
    const char *pq; /* path and query, as written */
    size_t pqlen;
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = cache_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* authority = [ userinfo "@" ] host [ ":" port ]: fills u's host and port.
 * Returns 0, or -1 for an empty or malformed host or port. */
static int split_authority(const char *a, size_t n, struct uri *u)
{
    const char *at = memchr(a, '@', n), *hend, *rest;
    size_t i, rn;
    unsigned long port = 0;

    if (at) {
        n -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    u->v6 = n > 0 && a[0] == '[';
    if (u->v6) {
        hend = memchr(a, ']', n);
        if (!hend)
            return -1;
        u->host = a + 1;
        rest = hend + 1;
    } else {
        hend = memchr(a, ':', n);
        hend = hend ? hend : a + n;
        u->host = a;
        rest = hend;
    }
    u->hlen = (size_t)(hend - u->host);
    rn = n - (size_t)(rest - a);
    for (i = 0; i < u->hlen; i++)
        if (!unreserved((unsigned char)u->host[i]) && !(u->v6 && u->host[i] == ':'))
            return -1;
    if (u->hlen > 1 && !u->v6 && u->host[u->hlen - 1] == '.')
        u->hlen--; /* "example.org." is "example.org" */
    if (u->hlen == 0)
        return -1;
    u->port = 0;
    if (rn == 0)
        return 0;
    if (rest[0] != ':' || rn > 6)
        return -1;
    for (i = 1; i < rn; i++) {
        if (rest[i] < '0' || rest[i] > '9')
            return -1;
        port = port * 10 + (unsigned long)(rest[i] - '0');
    }
    if (port > 65535 || (rn > 1 && port == 0))
        return -1;
    u->port = (unsigned)port;
    return 0;
}

/* Writes the key of u. */
static long build_key(const struct uri *u, int include_query, char *dst, size_t cap)
{
    struct out o = {dst, cap, 0, 0};
    unsigned defport = u->scheme[4] == 's' ? 443 : 80;
    size_t i, n = u->pqlen;
    const char *p = u->pq;
    char num[8];

    puts_n(&o, u->scheme, strlen(u->scheme));
    puts_n(&o, "://", 3);
    if (u->v6)
        put(&o, '[');
    put_lower(&o, u->host, u->hlen);
    if (u->v6)
        put(&o, ']');
    if (u->port && u->port != defport)
        puts_n(&o, num, gh_fmt(num, sizeof(num), ":%u", u->port));
    if (n == 0 || p[0] != '/')
        put(&o, '/');
    for (i = 0; i < n && !o.over; i++) {
        if (p[i] == '#' || (p[i] == '?' && !include_query))
            break;
        if (p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            int v = hexval(p[i + 1]) * 16 + hexval(p[i + 2]);

            if (unreserved(v)) {
                put(&o, (char)v);
            } else {
                put(&o, '%');
                put(&o, "0123456789ABCDEF"[v >> 4]);
                put(&o, "0123456789ABCDEF"[v & 15]);
            }
            i += 2;
        } else {
            put(&o, p[i]);
        }
    }
    return finish(&o);
}

/* The URI a request targets, or -1. */
static int request_uri(const struct http_head *req, const char *base, int tls, struct uri *u)
{
    int i;

    if (req->form == HTTP_TARGET_ABSOLUTE) {
        u->scheme = req->scheme.len == 5 ? "https" : "http";
        if (split_authority(base + req->authority.off, req->authority.len, u) < 0)
            return -1;
        u->pq = base + req->path.off;
        u->pqlen = req->path.len;
        return 0;
    }
    if (req->form != HTTP_TARGET_ORIGIN)
        return -1;
    i = http1_find(req, base, "host", 0);
    if (i < 0)
        return -1;
    u->scheme = tls ? "https" : "http";
    if (split_authority(base + req->fields[i].value.off, req->fields[i].value.len, u) < 0)
        return -1;
    u->pq = base + req->target.off;
    u->pqlen = req->target.len;
    return 0;
}

long cache_key(const struct http_head *req, const char *base, int tls, int include_query, char *out,
               size_t cap)
{
    struct uri u;

    if (cap > 0)
        out[0] = '\0';
    if (request_uri(req, base, tls, &u) < 0)
        return CACHE_KEY_ERROR;
    return build_key(&u, include_query, out, cap);
}

/* ---- hashing: SipHash-2-4 ---- */

static uint8_t secret[16];
static pthread_once_t secret_once = PTHREAD_ONCE_INIT;

static void secret_init(void)
{
    uint64_t fallback[2];

    if (getrandom(secret, sizeof(secret), 0) == (ssize_t)sizeof(secret))
        return;
    fallback[0] = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    fallback[1] = gh_now_ms() ^ (uint64_t)(uintptr_t)&fallback;
    memcpy(secret, fallback, sizeof(secret));
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND           \
    do {                   \
        v0 += v1;          \
        v1 = ROTL(v1, 13); \
        v1 ^= v0;          \
        v0 = ROTL(v0, 32); \
        v2 += v3;          \
        v3 = ROTL(v3, 16); \
        v3 ^= v2;          \
        v0 += v3;          \
        v3 = ROTL(v3, 21); \
        v3 ^= v0;          \
        v2 += v1;          \
        v1 = ROTL(v1, 17); \
        v1 ^= v2;          \
        v2 = ROTL(v2, 32); \
    } while (0)

static uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t siphash24(const uint8_t k[16], const uint8_t *p, size_t len)
{
    uint64_t k0 = load64(k), k1 = load64(k + 8), v0, v1, v2, v3, m, b = (uint64_t)len << 56;
    size_t i, left = len & 7;

    v0 = k0 ^ 0x736f6d6570736575ULL;
    v1 = k1 ^ 0x646f72616e646f6dULL;
    v2 = k0 ^ 0x6c7967656e657261ULL;
    v3 = k1 ^ 0x7465646279746573ULL;
    for (i = 0; i + 8 <= len; i += 8) {
        m = load64(p + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (m = 0; left > 0; left--)
        m |= (uint64_t)p[i + left - 1] << (8 * (left - 1));
    b |= m;
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t cache_key_hash(const char *key, size_t len)
{
    pthread_once(&secret_once, secret_init);
    return siphash24(secret, (const uint8_t *)key, len);
}

/* ---- Vary ---- */

#define VARY_MAX_NAMES 32
#define AE_MAX 16

struct name {
    const char *p;
    size_t n;
};

static int name_cmp(const void *a, const void *b)
{
    const struct name *x = a, *y = b;
    size_t i;

    for (i = 0; i < x->n && i < y->n; i++) {
        char cx = cache_lower(x->p[i]), cy = cache_lower(y->p[i]);

        if (cx != cy)
            return (unsigned char)cx - (unsigned char)cy;
    }
    return (x->n > y->n) - (x->n < y->n);
}

long cache_vary_list(const struct http_head *resp, const char *base, char *dst, size_t cap)
{
    struct name names[VARY_MAX_NAMES];
    struct out o = {dst, cap, 0, 0};
    size_t k = 0, j, pos, s, n;
    int i;

    for (i = http1_find(resp, base, "vary", 0); i >= 0; i = http1_find(resp, base, "vary", i + 1)) {
        const char *v = base + resp->fields[i].value.off;

        for (pos = 0; cache_list_next(v, resp->fields[i].value.len, &pos, &s, &n);) {
            if (n == 1 && v[s] == '*') {
                finish(&o);
                return CACHE_VARY_STAR;
            }
            if (k == VARY_MAX_NAMES) {
                o.over = 1;
                return finish(&o);
            }
            names[k].p = v + s;
            names[k++].n = n;
        }
    }
    qsort(names, k, sizeof(names[0]), name_cmp);
    for (j = 0; j < k; j++) {
        if (j > 0 && name_cmp(&names[j - 1], &names[j]) == 0)
            continue;
        if (o.len > 0)
            put(&o, ',');
        put_lower(&o, names[j].p, names[j].n);
    }
    return finish(&o);
}

/* The codings of one or more Accept-Encoding values. */
struct ae_set {
    struct name c[AE_MAX]; /* first occurrence of each coding */
    int q0[AE_MAX];        /* that occurrence had q=0 */
    size_t n;
    int over;
};

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ): is it zero?
 * A malformed value counts as 1, as most servers read it. */
static int q_is_zero(const char *v, size_t n)
{
    size_t i;

    if (n == 0 || v[0] != '0' || (n > 1 && v[1] != '.') || n > 5)
        return 0;
    for (i = 2; i < n; i++)
        if (v[i] != '0')
            return 0;
    return 1;
}

static void ae_add(struct ae_set *set, const char *v, size_t len)
{
    size_t pos = 0, s, n, cn, j, k;

    while (cache_list_next(v, len, &pos, &s, &n)) {
        const char *e = v + s, *semi = memchr(e, ';', n);
        size_t params = semi ? (size_t)(semi - e) : n;
        int zero = 0;

        cn = params;
        while (cn > 0 && (e[cn - 1] == ' ' || e[cn - 1] == '\t'))
            cn--;
        if (gh_strcaseeq(e, cn, "x-gzip")) {
            e = "gzip";
            cn = 4;
        } else if (gh_strcaseeq(e, cn, "x-compress")) {
            e = "compress";
            cn = 8;
        }
        for (k = params; k < n;) { /* parameters: only q matters */
            size_t ps = k + 1, pe;

            while (ps < n && (v[s + ps] == ' ' || v[s + ps] == '\t'))
                ps++;
            for (pe = ps; pe < n && v[s + pe] != ';'; pe++)
                ;
            k = pe;
            if (pe - ps >= 2 && cache_lower(v[s + ps]) == 'q' && v[s + ps + 1] == '=') {
                while (pe > ps + 2 && (v[s + pe - 1] == ' ' || v[s + pe - 1] == '\t'))
                    pe--;
                zero = q_is_zero(v + s + ps + 2, pe - ps - 2);
            }
        }
        if (cn == 0)
            continue;
        for (j = 0; j < set->n; j++)
            if (name_cmp(&set->c[j], &(struct name){e, cn}) == 0)
                break;
        if (j < set->n)
            continue; /* the first occurrence wins */
        if (set->n == AE_MAX) {
            set->over = 1;
            return;
        }
        set->c[set->n].p = e;
        set->c[set->n].n = cn;
        set->q0[set->n++] = zero;
    }
}

static long ae_write(struct ae_set *set, struct out *o)
{
    struct name acc[AE_MAX];
    size_t k = 0, j;
    int identity = -1, star = -1; /* -1 unspecified, 0 refused, 1 accepted */

    if (set->over) {
        o->over = 1;
        return CACHE_KEY_TOO_LONG;
    }
    for (j = 0; j < set->n; j++) {
        if (gh_strcaseeq(set->c[j].p, set->c[j].n, "identity"))
            identity = !set->q0[j];
        else if (set->c[j].n == 1 && set->c[j].p[0] == '*')
            star = !set->q0[j];
        if (!set->q0[j] && !gh_strcaseeq(set->c[j].p, set->c[j].n, "identity"))
            acc[k++] = set->c[j];
    }
    qsort(acc, k, sizeof(acc[0]), name_cmp);
    for (j = 0; j < k; j++) {
        if (j > 0)
            put(o, ',');
        put_lower(o, acc[j].p, acc[j].n);
    }
    if (identity == 0 || (identity == -1 && star == 0)) {
        if (k > 0)
            put(o, ',');
        puts_n(o, "!identity", 9);
    }
    return 0;
}

long cache_accept_encoding_norm(const char *v, size_t len, char *dst, size_t cap)
{
    struct ae_set set = {.n = 0, .over = 0};
    struct out o = {dst, cap, 0, 0};

    ae_add(&set, v, len);
    ae_write(&set, &o);
    return finish(&o);
}

long cache_vary_key(const char *vary, size_t vlen, const struct http_head *req, const char *base,
                    char *dst, size_t cap)
{
    struct out o = {dst, cap, 0, 0};
    size_t pos = 0, s, n;
    char name[128];
    int i, first;

    if (vlen == 1 && vary[0] == '*') {
        finish(&o);
        return CACHE_VARY_STAR;
    }
    while (cache_list_next(vary, vlen, &pos, &s, &n)) {
        if (n >= sizeof(name)) {
            o.over = 1;
            break;
        }
        memcpy(name, vary + s, n);
        name[n] = '\0';
        puts_n(&o, name, n);
        i = http1_find(req, base, name, 0);
        if (i < 0) {
            put(&o, '\n');
            continue;
        }
        put(&o, ':');
        if (gh_strcaseeq(name, n, "accept-encoding")) {
            struct ae_set set = {.n = 0, .over = 0};

            for (; i >= 0; i = http1_find(req, base, name, i + 1))
                ae_add(&set, base + req->fields[i].value.off, req->fields[i].value.len);
            ae_write(&set, &o);
        } else {
            for (first = 1; i >= 0; i = http1_find(req, base, name, i + 1), first = 0) {
                if (!first)
                    puts_n(&o, ", ", 2);
                puts_n(&o, base + req->fields[i].value.off, req->fields[i].value.len);
            }
        }
        put(&o, '\n');
    }
    return finish(&o);
}

/* ---- invalidation ---- */

int cache_method_safe(const char *m, size_t len)
{
    return (len == 3 && memcmp(m, "GET", 3) == 0) || (len == 4 && memcmp(m, "HEAD", 4) == 0) ||
           (len == 7 && memcmp(m, "OPTIONS", 7) == 0) || (len == 5 && memcmp(m, "TRACE", 5) == 0);
}

/* RFC 3986 section 5.2.4 on buf[0..*len), in place. */
static void remove_dot_segments(char *buf, size_t *len)
{
    size_t i = 0, n = *len, o = 0;

    while (i < n) {
        size_t left = n - i;
        char *in = buf + i;

        if (left >= 3 && memcmp(in, "../", 3) == 0) {
            i += 3;
        } else if (left >= 2 && memcmp(in, "./", 2) == 0) {
            i += 2;
        } else if (left >= 3 && memcmp(in, "/./", 3) == 0) {
            i += 2;
        } else if (left == 2 && memcmp(in, "/.", 2) == 0) {
            i += 1;
            buf[i] = '/';
        } else if ((left >= 4 && memcmp(in, "/../", 4) == 0) ||
                   (left == 3 && memcmp(in, "/..", 3) == 0)) {
            i += left == 3 ? 2 : 3;
            buf[i] = '/';
            while (o > 0 && buf[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if ((left == 1 && in[0] == '.') || (left == 2 && memcmp(in, "..", 2) == 0)) {
            break;
        } else {
            size_t e = i + (buf[i] == '/');

            while (e < n && buf[e] != '/')
                e++;
            memmove(buf + o, buf + i, e - i);
            o += e - i;
            i = e;
        }
    }
    *len = o;
}

/* Resolves reference r[0..n) against the target t into u; merged paths go
 * into tmp (CACHE_KEY_MAX bytes).  Returns 0, or -1 when r is not an http(s)
 * URI or cannot be resolved. */
static int resolve(const struct uri *t, const char *r, size_t n, char *tmp, struct uri *u)
{
    const char *hash = memchr(r, '#', n), *q;
    size_t i, dir, plen;

    n = hash ? (size_t)(hash - r) : n;
    for (i = 0;
         i < n && (unreserved((unsigned char)r[i]) || r[i] == '+') && r[i] != '_' && r[i] != '~';
         i++)
        ;
    if (i > 0 && i < n && r[i] == ':' && cache_lower(r[0]) >= 'a' && cache_lower(r[0]) <= 'z') {
        /* scheme ":", a scheme starting with a letter */
        if (!gh_strcaseeq(r, i, "http") && !gh_strcaseeq(r, i, "https"))
            return -1;
        u->scheme = i == 5 ? "https" : "http";
        r += i + 1;
        n -= i + 1;
        if (n < 2 || r[0] != '/' || r[1] != '/')
            return -1;
    } else {
        u->scheme = t->scheme;
    }
    if (n >= 2 && r[0] == '/' && r[1] == '/') {
        for (i = 2; i < n && r[i] != '/' && r[i] != '?'; i++)
            ;
        if (split_authority(r + 2, i - 2, u) < 0)
            return -1;
        u->pq = r + i;
        u->pqlen = n - i;
        return 0;
    }
    u->host = t->host;
    u->hlen = t->hlen;
    u->v6 = t->v6;
    u->port = t->port;
    if (n > 0 && r[0] == '/') {
        u->pq = r;
        u->pqlen = n;
        return 0;
    }
    q = memchr(t->pq, '?', t->pqlen);
    plen = q ? (size_t)(q - t->pq) : t->pqlen;
    if (n == 0 || r[0] == '?') { /* the target's path, the reference's query */
        dir = plen;
    } else {
        for (dir = plen; dir > 0 && t->pq[dir - 1] != '/'; dir--)
            ;
    }
    if (dir + n + 1 >= CACHE_KEY_MAX)
        return -1;
    if (dir == 0)
        tmp[dir++] = '/';
    else
        memcpy(tmp, t->pq, dir);
    memcpy(tmp + dir, r, n);
    q = memchr(tmp, '?', dir + n);
    plen = q ? (size_t)(q - tmp) : dir + n;
    i = plen;
    remove_dot_segments(tmp, &plen);
    memmove(tmp + plen, tmp + i, dir + n - i);
    u->pq = tmp;
    u->pqlen = plen + dir + n - i;
    return 0;
}

static int same_host(const struct uri *a, const struct uri *b)
{
    size_t i;

    if (a->hlen != b->hlen)
        return 0;
    for (i = 0; i < a->hlen; i++)
        if (cache_lower(a->host[i]) != cache_lower(b->host[i]))
            return 0;
    return 1;
}

static void add_key(struct cache_invalidation *inv, const struct uri *u, int include_query)
{
    unsigned j;
    long n = build_key(u, include_query, inv->key[inv->n], CACHE_KEY_MAX);

    if (n < 0)
        return;
    for (j = 0; j < inv->n; j++)
        if (inv->len[j] == (size_t)n && memcmp(inv->key[j], inv->key[inv->n], (size_t)n) == 0)
            return;
    inv->len[inv->n++] = (size_t)n;
}

unsigned cache_invalidation_targets(const struct http_head *req, const char *qbase,
                                    const struct http_head *resp, const char *rbase, int tls,
                                    int include_query, struct cache_invalidation *inv)
{
    static const char *const fields[2] = {"location", "content-location"};
    char tmp[CACHE_KEY_MAX];
    struct uri t, u;
    int k, i;

    inv->n = 0;
    if (cache_method_safe(qbase + req->method.off, req->method.len) || resp->status < 200 ||
        resp->status > 399 || request_uri(req, qbase, tls, &t) < 0)
        return 0;
    add_key(inv, &t, include_query);
    for (k = 0; k < 2; k++) {
        i = http1_find(resp, rbase, fields[k], 0);
        if (i < 0 ||
            resolve(&t, rbase + resp->fields[i].value.off, resp->fields[i].value.len, tmp, &u) < 0)
            continue;
        if (same_host(&t, &u))
            add_key(inv, &u, include_query);
    }
    return inv->n;
}

/* cache_head.c — building the stored head, freshening it from a 304,
 * conditional requests and their evaluation, and the Age and Cache-Status
 * values (see cache_head.h).  Allocates only the heads it returns. */
#include "cache_head.h"

#include "cache_int.h"
#include "cache_policy.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- growing output ---- */

struct grow {
    char *p;
    size_t len, cap;
};

static void grow_put(struct grow *g, const char *s, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        g->cap = GH_MAX(g->cap * 2, g->len + n + 1);
        g->p = xrealloc(g->p, g->cap);
    }
    memcpy(g->p + g->len, s, n);
    g->len += n;
    g->p[g->len] = '\0';
}

static void put_status_line(struct grow *g, const struct http_head *h, const char *base)
{
    char line[32];

    grow_put(g, line, gh_fmt(line, sizeof(line), "HTTP/1.1 %03d ", h->status));
    grow_put(g, base + h->reason.off, h->reason.len);
    grow_put(g, "\r\n", 2);
}

static void put_field(struct grow *g, const struct http_field *f, const char *base)
{
    grow_put(g, base + f->name.off, f->name.len);
    grow_put(g, ": ", 2);
    grow_put(g, base + f->value.off, f->value.len);
    grow_put(g, "\r\n", 2);
}

static int name_is(const struct http_field *f, const char *base, const char *name)
{
    return gh_strcaseeq(base + f->name.off, f->name.len, name);
}

static int same_name(const struct http_field *a, const char *abase, const struct http_field *b,
                     const char *bbase)
{
    return a->name.len == b->name.len &&
           strncasecmp(abase + a->name.off, bbase + b->name.off, a->name.len) == 0;
}

/* Whether field f of h is named by one of h's Connection fields. */
static int connection_listed(const struct http_head *h, const char *base,
                             const struct http_field *f)
{
    size_t pos, s, n;
    int i;

    for (i = http1_find(h, base, "connection", 0); i >= 0;
         i = http1_find(h, base, "connection", i + 1)) {
        const char *v = base + h->fields[i].value.off;

        for (pos = 0; cache_list_next(v, h->fields[i].value.len, &pos, &s, &n);)
            if (n == f->name.len && strncasecmp(v + s, base + f->name.off, n) == 0)
                return 1;
    }
    return 0;
}

/* A field a cache never stores (section 3.1). */
static int never_stored(const struct http_head *h, const char *base, const struct http_field *f)
{
    return http1_is_hop_by_hop(base + f->name.off, f->name.len) || connection_listed(h, base, f);
}

char *cache_head_for_storage(const struct http_head *resp, const char *base, int keep_set_cookie,
                             size_t *len)
{
    struct grow g = {NULL, 0, 0};
    unsigned i;

    put_status_line(&g, resp, base);
    for (i = 0; i < resp->nfields; i++) {
        const struct http_field *f = &resp->fields[i];

        if (never_stored(resp, base, f) || (!keep_set_cookie && name_is(f, base, "set-cookie")))
            continue;
        put_field(&g, f, base);
    }
    grow_put(&g, "\r\n", 2);
    *len = g.len;
    return g.p;
}

/* ---- validators ---- */

/* The value of the first field `name`, or NULL. */
static const char *value_of(const struct http_head *h, const char *base, const char *name,
                            size_t *n)
{
    int i = http1_find(h, base, name, 0);

    if (i < 0)
        return NULL;
    *n = h->fields[i].value.len;
    return base + h->fields[i].value.off;
}

static int etag_weak(const char *t, size_t n)
{
    return n >= 2 && t[0] == 'W' && t[1] == '/';
}

/* Entity-tag comparison (RFC 9110 section 8.8.3.2): both strong and equal
 * (strong), or equal once W/ is removed (weak). */
static int etag_match(const char *a, size_t an, const char *b, size_t bn, int strong)
{
    if (strong && (etag_weak(a, an) || etag_weak(b, bn)))
        return 0;
    if (etag_weak(a, an)) {
        a += 2;
        an -= 2;
    }
    if (etag_weak(b, bn)) {
        b += 2;
        bn -= 2;
    }
    return an == bn && an >= 2 && a[0] == '"' && memcmp(a, b, an) == 0;
}

int cache_head_matches(const struct http_head *stored, const char *sbase,
                       const struct http_head *upd, const char *ubase)
{
    size_t un = 0, sn = 0;
    const char *ue = value_of(upd, ubase, "etag", &un), *se = value_of(stored, sbase, "etag", &sn);
    const char *ul, *sl;

    if (ue)
        return se && etag_match(ue, un, se, sn, !etag_weak(ue, un));
    ul = value_of(upd, ubase, "last-modified", &un);
    sl = value_of(stored, sbase, "last-modified", &sn);
    if (ul) {
        int64_t t = cache_http_date(ul, un, 0);

        return sl && t != CACHE_UNSET && t == cache_http_date(sl, sn, 0);
    }
    return 1; /* no validator: the 304 is about the response the request named */
}

/* A field of a 304 that must not replace the stored one. */
static int keep_stored(const struct http_head *upd, const char *ubase, const struct http_field *f)
{
    static const char *const names[] = {"content-length", "content-range", "content-encoding",
                                        "set-cookie"};
    size_t i;

    for (i = 0; i < GH_ARRAY_LEN(names); i++)
        if (name_is(f, ubase, names[i]))
            return 1;
    return never_stored(upd, ubase, f);
}

char *cache_head_update(const struct http_head *stored, const char *sbase,
                        const struct http_head *upd, const char *ubase, size_t *len)
{
    struct grow g = {NULL, 0, 0};
    unsigned i, j;

    put_status_line(&g, stored, sbase);
    for (i = 0; i < stored->nfields; i++) {
        const struct http_field *f = &stored->fields[i];
        int replaced = 0;

        for (j = 0; j < upd->nfields && !replaced; j++)
            replaced = same_name(f, sbase, &upd->fields[j], ubase) &&
                       !keep_stored(upd, ubase, &upd->fields[j]);
        if (!replaced)
            put_field(&g, f, sbase);
    }
    for (j = 0; j < upd->nfields; j++)
        if (!keep_stored(upd, ubase, &upd->fields[j]))
            put_field(&g, &upd->fields[j], ubase);
    grow_put(&g, "\r\n", 2);
    *len = g.len;
    return g.p;
}

long cache_conditional_fields(const struct http_head *stored, const char *sbase, char *out,
                              size_t cap)
{
    size_t n = 0, en = 0, ln = 0;
    const char *etag = value_of(stored, sbase, "etag", &en);
    const char *lm = value_of(stored, sbase, "last-modified", &ln);
    size_t need = (etag ? 15 + en + 2 : 0) + (lm ? 19 + ln + 2 : 0);

    if (need + 1 > cap)
        return -1;
    if (etag) {
        memcpy(out + n, "If-None-Match: ", 15);
        n += 15;
        memcpy(out + n, etag, en);
        n += en;
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    if (lm) {
        memcpy(out + n, "If-Modified-Since: ", 19);
        n += 19;
        memcpy(out + n, lm, ln);
        n += ln;
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    out[n] = '\0';
    return (long)n;
}

int cache_not_modified(const struct http_head *req, const char *qbase,
                       const struct http_head *stored, const char *sbase, int64_t now)
{
    size_t n, en = 0, pos, s, k;
    const char *v, *etag = value_of(stored, sbase, "etag", &en);
    int64_t since, lm;
    int i;

    if (!((req->method.len == 3 && memcmp(qbase + req->method.off, "GET", 3) == 0) ||
          (req->method.len == 4 && memcmp(qbase + req->method.off, "HEAD", 4) == 0)))
        return 0;
    if (stored->status < 200 || stored->status > 299)
        return 0; /* preconditions only apply to a 2xx answer (RFC 9110 13.2.1) */
    if (http1_find(req, qbase, "if-none-match", 0) >= 0) {
        for (i = http1_find(req, qbase, "if-none-match", 0); i >= 0;
             i = http1_find(req, qbase, "if-none-match", i + 1)) {
            v = qbase + req->fields[i].value.off;
            for (pos = 0; cache_list_next(v, req->fields[i].value.len, &pos, &s, &k);)
                if ((k == 1 && v[s] == '*') || (etag && etag_match(v + s, k, etag, en, 0)))
                    return 1;
        }
        return 0;
    }
    v = value_of(req, qbase, "if-modified-since", &n);
    if (!v || (since = cache_http_date(v, n, now)) == CACHE_UNSET)
        return 0;
    v = value_of(stored, sbase, "last-modified", &n);
    lm = v ? cache_http_date(v, n, now) : CACHE_UNSET;
    if (lm == CACHE_UNSET) {
        v = value_of(stored, sbase, "date", &n);
        lm = v ? cache_http_date(v, n, now) : CACHE_UNSET;
    }
    return lm != CACHE_UNSET && lm <= since;
}

/* ---- Age and Cache-Status ---- */

size_t cache_age_value(int64_t age, char *out, size_t cap)
{
    return gh_fmt(out, cap, "%lld", (long long)GH_MIN(GH_MAX(age, 0), CACHE_DELTA_MAX));
}

/* sf-token: ( ALPHA / "*" ) *( tchar / ":" / "/" ) */
static int is_token(const char *s)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~:/";
    size_t i;

    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '*'))
        return 0;
    for (i = 1; s[i]; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr(tchar, s[i])))
            return 0;
    return 1;
}

/* A bounded output for Cache-Status, written on every hit: no allocation. */
struct bounded {
    char *p;
    size_t cap, len;
    int over;
};

static void bput(struct bounded *b, const char *s, size_t n)
{
    if (b->over || b->len + n + 1 > b->cap) {
        b->over = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Appends s as an sf-token or an sf-string (printable ASCII, '"' and '\'
 * escaped, anything else dropped). */
static void put_item(struct bounded *b, const char *s)
{
    size_t i;

    if (is_token(s)) {
        bput(b, s, strlen(s));
        return;
    }
    bput(b, "\"", 1);
    for (i = 0; s[i]; i++) {
        if (s[i] == '"' || s[i] == '\\')
            bput(b, "\\", 1);
        if (s[i] >= 0x20 && s[i] < 0x7f)
            bput(b, s + i, 1);
    }
    bput(b, "\"", 1);
}

long cache_status_value(const char *name, const struct cache_status *cs, char *out, size_t cap)
{
    static const char *const fwd[] = {
        [CACHE_FWD_BYPASS] = "bypass",     [CACHE_FWD_METHOD] = "method",
        [CACHE_FWD_URI_MISS] = "uri-miss", [CACHE_FWD_VARY_MISS] = "vary-miss",
        [CACHE_FWD_MISS] = "miss",         [CACHE_FWD_REQUEST] = "request",
        [CACHE_FWD_STALE] = "stale",       [CACHE_FWD_PARTIAL] = "partial",
    };
    struct bounded b = {out, cap, 0, 0};
    char num[48];

    put_item(&b, name && name[0] ? name : "gatehouse");
    if (cs->fwd == CACHE_FWD_NONE || (unsigned)cs->fwd >= GH_ARRAY_LEN(fwd)) {
        bput(&b, "; hit", 5);
    } else {
        bput(&b, "; fwd=", 6);
        bput(&b, fwd[cs->fwd], strlen(fwd[cs->fwd]));
        if (cs->fwd_status > 0)
            bput(&b, num, gh_fmt(num, sizeof(num), "; fwd-status=%d", cs->fwd_status));
    }
    if (cs->has_ttl)
        bput(&b, num, gh_fmt(num, sizeof(num), "; ttl=%lld", (long long)cs->ttl));
    if (cs->stored)
        bput(&b, "; stored", 8);
    if (cs->collapsed)
        bput(&b, "; collapsed", 11);
    if (cs->detail && cs->detail[0]) {
        bput(&b, "; detail=", 9);
        put_item(&b, cs->detail);
    }
    if (cap > 0)
        out[b.over ? 0 : b.len] = '\0';
    return b.over ? -1 : (long)b.len;
}
